package dev.mobilekit.core

/**
 * A small JSON reader and writer, so the core needs no Android or library classes.
 *
 * Objects parse to `Map<String, Any?>` (insertion-ordered), arrays to `List<Any?>`, numbers to
 * `Long` when integral and `Double` otherwise, plus `String`, `Boolean` and `null`.
 */
object Json {
    fun parse(text: String): Any? = Parser(text).document()

    fun write(
        value: Any?,
        indent: Int = 2,
    ): String {
        val out = StringBuilder()
        writeValue(out, value, indent, 0)
        return out.append('\n').toString()
    }

    private fun writeValue(
        out: StringBuilder,
        value: Any?,
        indent: Int,
        level: Int,
    ) {
        when (value) {
            null -> out.append("null")
            is String -> writeString(out, value)
            is Boolean -> out.append(value.toString())
            is Double -> writeDouble(out, value)
            is Float -> writeDouble(out, value.toDouble())
            is Number -> out.append(value.toLong().toString())
            is Map<*, *> -> writeObject(out, value, indent, level)
            is Iterable<*> -> writeArray(out, value.toList(), indent, level)
            is DoubleArray -> writeArray(out, value.toList(), indent, level)
            is IntArray -> writeArray(out, value.toList(), indent, level)
            is LongArray -> writeArray(out, value.toList(), indent, level)
            is Array<*> -> writeArray(out, value.toList(), indent, level)
            else -> writeString(out, value.toString())
        }
    }

    private fun writeDouble(
        out: StringBuilder,
        value: Double,
    ) {
        if (value.isNaN() || value.isInfinite()) {
            out.append("null")
        } else if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            out.append(value.toLong().toString())
        } else {
            out.append(value.toString())
        }
    }

    private fun writeObject(
        out: StringBuilder,
        value: Map<*, *>,
        indent: Int,
        level: Int,
    ) {
        if (value.isEmpty()) {
            out.append("{}")
            return
        }
        out.append('{')
        var first = true
        for ((k, v) in value) {
            if (!first) out.append(',')
            first = false
            newline(out, indent, level + 1)
            writeString(out, k.toString())
            out.append(if (indent > 0) ": " else ":")
            writeValue(out, v, indent, level + 1)
        }
        newline(out, indent, level)
        out.append('}')
    }

    private fun writeArray(
        out: StringBuilder,
        value: List<*>,
        indent: Int,
        level: Int,
    ) {
        if (value.isEmpty()) {
            out.append("[]")
            return
        }
        val scalars = value.all { it == null || it is Number || it is Boolean }
        out.append('[')
        for ((i, v) in value.withIndex()) {
            if (i > 0) out.append(if (scalars && indent > 0) ", " else ",")
            if (!scalars) newline(out, indent, level + 1)
            writeValue(out, v, indent, level + 1)
        }
        if (!scalars) newline(out, indent, level)
        out.append(']')
    }

    private fun newline(
        out: StringBuilder,
        indent: Int,
        level: Int,
    ) {
        if (indent <= 0) return
        out.append('\n')
        repeat(indent * level) { out.append(' ') }
    }

    private fun writeString(
        out: StringBuilder,
        s: String,
    ) {
        out.append('"')
        for (c in s) {
            when (c) {
                '"' -> {
                    out.append("\\\"")
                }

                '\\' -> {
                    out.append("\\\\")
                }

                '\n' -> {
                    out.append("\\n")
                }

                '\r' -> {
                    out.append("\\r")
                }

                '\t' -> {
                    out.append("\\t")
                }

                else -> {
                    if (c < ' ') {
                        out.append(String.format("\\u%04x", c.code))
                    } else {
                        out.append(c)
                    }
                }
            }
        }
        out.append('"')
    }

    private class Parser(
        private val s: String,
    ) {
        private var i = 0

        fun document(): Any? {
            val v = value()
            skipSpace()
            if (i != s.length) fail("unexpected text after the value")
            return v
        }

        private fun fail(message: String): Nothing = throw IllegalArgumentException("JSON: $message at offset $i")

        private fun skipSpace() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        private fun value(): Any? {
            skipSpace()
            if (i >= s.length) fail("unexpected end")
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> num()
            }
        }

        private fun literal(
            word: String,
            v: Any?,
        ): Any? {
            if (!s.startsWith(word, i)) fail("unexpected character '${s[i]}'")
            i += word.length
            return v
        }

        private fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (i < s.length && s[i] == '}') {
                i++
                return out
            }
            while (true) {
                skipSpace()
                if (i >= s.length || s[i] != '"') fail("expected a key")
                val k = str()
                skipSpace()
                if (i >= s.length || s[i] != ':') fail("expected ':'")
                i++
                out[k] = value()
                skipSpace()
                if (i >= s.length) fail("unexpected end in an object")
                if (s[i] == ',') {
                    i++
                } else if (s[i] == '}') {
                    i++
                    return out
                } else {
                    fail("expected ',' or '}'")
                }
            }
        }

        private fun arr(): List<Any?> {
            val out = ArrayList<Any?>()
            i++
            skipSpace()
            if (i < s.length && s[i] == ']') {
                i++
                return out
            }
            while (true) {
                out.add(value())
                skipSpace()
                if (i >= s.length) fail("unexpected end in an array")
                if (s[i] == ',') {
                    i++
                } else if (s[i] == ']') {
                    i++
                    return out
                } else {
                    fail("expected ',' or ']'")
                }
            }
        }

        private fun str(): String {
            val out = StringBuilder()
            i++
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when (c) {
                    '"' -> {
                        return out.toString()
                    }

                    '\\' -> {
                        if (i >= s.length) fail("bad escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> {
                                out.append(e)
                            }

                            'b' -> {
                                out.append('\b')
                            }

                            'f' -> {
                                out.append('\u000C')
                            }

                            'n' -> {
                                out.append('\n')
                            }

                            'r' -> {
                                out.append('\r')
                            }

                            't' -> {
                                out.append('\t')
                            }

                            'u' -> {
                                if (i + 4 > s.length) fail("bad unicode escape")
                                out.append(s.substring(i, i + 4).toInt(16).toChar())
                                i += 4
                            }

                            else -> {
                                fail("bad escape '\\$e'")
                            }
                        }
                    }

                    else -> {
                        out.append(c)
                    }
                }
            }
        }

        private fun num(): Any {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            val text = s.substring(start, i)
            if (text.isEmpty()) fail("unexpected character '${s[start]}'")
            val integral = text.none { it in ".eE" }
            return if (integral) {
                text.toLongOrNull() ?: text.toDouble()
            } else {
                text.toDoubleOrNull() ?: fail("bad number '$text'")
            }
        }
    }
}
