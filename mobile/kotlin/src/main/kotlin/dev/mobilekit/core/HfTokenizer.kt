package dev.mobilekit.core

import java.nio.ByteBuffer
import java.nio.charset.CodingErrorAction
import java.nio.charset.StandardCharsets
import java.text.Normalizer

/** Text to ids and back: what the translator needs from a tokenizer. */
interface TextTokenizer {
    /** The text's ids, without any special token added (HF `encode(text, add_special_tokens=False)`). */
    fun encode(text: String): IntArray

    /** The text of [ids]; with [skipSpecial], special tokens are dropped first (HF `skip_special_tokens`). */
    fun decode(
        ids: IntArray,
        skipSpecial: Boolean = false,
    ): String

    fun tokenOf(id: Int): String?
}

/** A `tokenizer.json` component the core does not implement: the message names its type. */
class UnsupportedTokenizerException(
    message: String,
) : IllegalArgumentException(message)

/**
 * Any Hugging Face `tokenizers` file, run component by component as the Rust library does it:
 * added/special tokens split out of the raw text first, then normalizer (NFC/NFD/NFKC/NFKD,
 * Lowercase, Strip, Replace, Prepend, SentencePiece's Precompiled charsmap, Sequence), pre-tokenizer (Whitespace, WhitespaceSplit,
 * Metaspace, ByteLevel, Sequence), model (BPE, Unigram, WordLevel; byte fallback), decoder
 * (BPEDecoder, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence) and, for source ids, the post-processor
 * (TemplateProcessing single template, RobertaProcessing, BertProcessing, ByteLevel, Sequence).
 * Anything else throws [UnsupportedTokenizerException] at load: never silently different.
 */
class HfTokenizer private constructor(
    private val normalizer: ((String) -> String)?,
    private val preTokenizer: PreTokenizer?,
    private val model: TokenModel,
    private val decoder: TokenDecoder?,
    private val processor: PostProcessor?,
    private val added: List<Added>,
) : TextTokenizer {
    private val rawAdded = added.filter { !it.normalized }.sortedByDescending { it.content.length }
    private val normalizedAdded =
        added
            .filter { it.normalized }
            .map { it.copy(content = normalizer?.invoke(it.content) ?: it.content) }
            .sortedByDescending { it.content.length }
    private val addedById = added.associateBy { it.id }
    private val special = added.filter { it.special }.map { it.id }.toSet()

    /** Whether the file has a post-processor (the source template); else sources are `tokens eos`. */
    val hasTemplate: Boolean get() = processor != null

    /** How many ids the post-processor adds to a single sequence (HF `num_special_tokens_to_add(False)`). */
    val specialTokensToAdd: Int get() = processor?.added ?: 0

    fun isSpecial(id: Int): Boolean = id in special

    fun idOf(token: String): Int? = added.firstOrNull { it.content == token }?.id ?: model.idOf(token)

    override fun encode(text: String): IntArray {
        val out = ArrayList<Int>()
        for (seg in splitAdded(text, rawAdded)) {
            if (seg.id != null) {
                out += seg.id
                continue
            }
            val normalized = normalizer?.invoke(seg.text) ?: seg.text
            for (inner in splitAdded(normalized, normalizedAdded)) {
                if (inner.id != null) {
                    out += inner.id
                    continue
                }
                if (inner.text.isEmpty()) continue // HF drops empty splits before pre-tokenizing
                val piece = Piece(inner.text, seg.start == 0 && inner.start == 0)
                val pieces = preTokenizer?.split(listOf(piece)) ?: listOf(piece)
                for (p in pieces) if (p.text.isNotEmpty()) model.tokenize(p.text, out)
            }
        }
        return out.toIntArray()
    }

    /** [ids] with the post-processor's single template applied (HF `post_process`). */
    fun applyTemplate(ids: IntArray): IntArray = processor?.apply(ids) ?: ids

    override fun decode(
        ids: IntArray,
        skipSpecial: Boolean,
    ): String {
        val tokens =
            ids.filter { !skipSpecial || it !in special }.mapNotNull { addedById[it]?.content ?: model.tokenOf(it) }
        if (tokens.isEmpty()) return ""
        return decoder?.decode(tokens)?.joinToString("") ?: tokens.joinToString(" ")
    }

    override fun tokenOf(id: Int): String? = addedById[id]?.content ?: model.tokenOf(id)

    private data class Segment(
        val text: String,
        val start: Int,
        val id: Int?,
    )

    /** Splits [text] around [tokens] (leftmost, longest first), as HF's added vocabulary does. */
    private fun splitAdded(
        text: String,
        tokens: List<Added>,
    ): List<Segment> {
        if (tokens.isEmpty()) return listOf(Segment(text, 0, null))
        val out = ArrayList<Segment>()
        var start = 0
        var i = 0
        while (i < text.length) {
            val hit = tokens.firstOrNull { it.content.isNotEmpty() && text.startsWith(it.content, i) }
            if (hit == null) {
                i++
                continue
            }
            var from = i
            var to = i + hit.content.length
            if (hit.lstrip) while (from > start && isWhite(text[from - 1])) from--
            if (hit.rstrip) while (to < text.length && isWhite(text[to])) to++
            if (from > start) out += Segment(text.substring(start, from), start, null)
            out += Segment(hit.content, from, hit.id)
            i = to
            start = to
        }
        if (start < text.length || out.isEmpty()) out += Segment(text.substring(start), start, null)
        return out
    }

    internal data class Added(
        val id: Int,
        val content: String,
        val special: Boolean,
        val normalized: Boolean,
        val lstrip: Boolean,
        val rstrip: Boolean,
    )

    /** A pre-tokenized piece; [atStart]: it begins at offset 0 of the original text (Metaspace `first`). */
    internal data class Piece(
        val text: String,
        val atStart: Boolean,
    )

    internal fun interface PreTokenizer {
        fun split(pieces: List<Piece>): List<Piece>
    }

    internal interface TokenModel {
        fun tokenize(
            word: String,
            out: MutableList<Int>,
        )

        fun tokenOf(id: Int): String?

        fun idOf(token: String): Int?
    }

    internal fun interface TokenDecoder {
        fun decode(tokens: List<String>): List<String>
    }

    internal interface PostProcessor {
        val added: Int

        fun apply(ids: IntArray): IntArray
    }

    companion object {
        /** Reads a `tokenizer.json`; throws [UnsupportedTokenizerException] for components it does not implement. */
        fun fromJson(text: String): HfTokenizer {
            val root = Json.parse(text) as? Map<*, *> ?: throw IllegalArgumentException("tokenizer.json is not an object")
            val model = root["model"] as? Map<*, *> ?: throw IllegalArgumentException("tokenizer.json has no model")
            val added =
                (root["added_tokens"] as? List<*>).orEmpty().map {
                    val m = it as Map<*, *>
                    if (m["single_word"] == true) unsupported("added token option single_word (token '${m["content"]}')")
                    Added(
                        id = (m["id"] as Number).toInt(),
                        content = m["content"] as String,
                        special = m["special"] == true,
                        normalized = m["normalized"] == true,
                        lstrip = m["lstrip"] == true,
                        rstrip = m["rstrip"] == true,
                    )
                }
            return HfTokenizer(
                normalizer = (root["normalizer"] as? Map<*, *>)?.let { normalizer(it) },
                preTokenizer = (root["pre_tokenizer"] as? Map<*, *>)?.let { preTokenizer(it) },
                model = model(model),
                decoder = (root["decoder"] as? Map<*, *>)?.let { decoder(it) },
                processor = (root["post_processor"] as? Map<*, *>)?.let { postProcessor(it, added) },
                added = added,
            )
        }

        private fun unsupported(what: String): Nothing = throw UnsupportedTokenizerException("tokenizer: $what is not supported by the mobilekit core")

        private fun Map<*, *>.type(): String = this["type"] as? String ?: "?"

        private fun Map<*, *>.bool(
            key: String,
            default: Boolean,
        ): Boolean = this[key] as? Boolean ?: default

        // -- normalizers --------------------------------------------------------------------

        private fun normalizer(m: Map<*, *>): (String) -> String =
            when (val t = m.type()) {
                "NFC" -> {
                    { s -> Normalizer.normalize(s, Normalizer.Form.NFC) }
                }

                "NFD" -> {
                    { s -> Normalizer.normalize(s, Normalizer.Form.NFD) }
                }

                "NFKC" -> {
                    { s -> Normalizer.normalize(s, Normalizer.Form.NFKC) }
                }

                "NFKD" -> {
                    { s -> Normalizer.normalize(s, Normalizer.Form.NFKD) }
                }

                "Lowercase" -> {
                    { s -> lower(s) }
                }

                "Strip" -> {
                    val left = m.bool("strip_left", true)
                    val right = m.bool("strip_right", true)
                    return { s -> strip(s, left, right) }
                }

                "Prepend" -> {
                    val p = m["prepend"] as? String ?: ""
                    return { s -> if (s.isEmpty()) s else p + s }
                }

                "Replace" -> {
                    val from = replacePattern(m)
                    val to = m["content"] as? String ?: ""
                    return { s -> s.replace(from, Regex.escapeReplacement(to)) }
                }

                "Precompiled" -> {
                    val map = Precompiled.parse(m["precompiled_charsmap"] as? String ?: unsupported("Precompiled normalizer without a charsmap"))
                    return { s -> map.normalize(s) }
                }

                "Sequence" -> {
                    val parts = (m["normalizers"] as List<*>).map { normalizer(it as Map<*, *>) }
                    return { s -> parts.fold(s) { acc, f -> f(acc) } }
                }

                else -> {
                    unsupported("normalizer $t")
                }
            }

        /** A Replace pattern: a literal string, or a regex (run by java.util.regex; tokenizers uses Oniguruma, which agrees on the simple patterns these files hold). */
        private fun replacePattern(m: Map<*, *>): Regex {
            val p = m["pattern"] as? Map<*, *> ?: unsupported("Replace without a pattern")
            (p["String"] as? String)?.let { return Regex(Regex.escape(it)) }
            val regex = p["Regex"] as? String ?: unsupported("Replace pattern $p")
            return runCatching { Regex(regex) }.getOrElse { unsupported("Replace regex '$regex'") }
        }

        /** Per-character lowercasing, as HF's `Lowercase` normalizer (no context rules). */
        private fun lower(s: String): String {
            val sb = StringBuilder(s.length)
            s.codePoints().forEach { sb.append(String(Character.toChars(it)).lowercase()) }
            return sb.toString()
        }

        private fun strip(
            s: String,
            left: Boolean,
            right: Boolean,
        ): String {
            var a = 0
            var b = s.length
            if (left) while (a < b && isWhite(s[a])) a++
            if (right) while (b > a && isWhite(s[b - 1])) b--
            return s.substring(a, b)
        }

        /** Unicode White_Space, as Rust's `char::is_whitespace`. */
        internal fun isWhite(c: Char): Boolean =
            c in '\t'..'\r' || c == ' ' || c == '\u0085' || c == '\u00A0' || c == '\u1680' || c in '\u2000'..'\u200A' ||
                c == '\u2028' || c == '\u2029' || c == '\u202F' || c == '\u205F' || c == '\u3000'

        // -- pre-tokenizers -----------------------------------------------------------------

        // (?U): Unicode-aware \w and \s, as in the Rust regex HF uses
        private val WORD = Regex("(?U)\\w+|[^\\w\\s]+")

        // GPT-2's split, as HF's ByteLevel pre-tokenizer runs it
        private val GPT2 = Regex("(?U)'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")

        private fun preTokenizer(m: Map<*, *>): PreTokenizer =
            when (val t = m.type()) {
                "Whitespace" -> {
                    PreTokenizer { pieces -> pieces.flatMap { p -> regexPieces(p, WORD) } }
                }

                "WhitespaceSplit" -> {
                    PreTokenizer { pieces -> pieces.flatMap { p -> whitespacePieces(p) } }
                }

                "Metaspace" -> {
                    val replacement = (m["replacement"] as? String)?.singleOrNull() ?: unsupported("Metaspace replacement '${m["replacement"]}'")
                    val scheme = prependScheme(m)
                    val split = m.bool("split", true)
                    PreTokenizer { pieces -> pieces.flatMap { p -> metaspace(p, replacement, scheme, split) } }
                }

                "ByteLevel" -> {
                    val prefix = m.bool("add_prefix_space", true)
                    val regex = m.bool("use_regex", true)
                    PreTokenizer { pieces ->
                        pieces.flatMap { p ->
                            val text = if (prefix && !p.text.startsWith(' ')) " " + p.text else p.text
                            val parts = if (regex) regexPieces(Piece(text, p.atStart), GPT2) else listOf(Piece(text, p.atStart))
                            parts.map { Piece(ByteLevel.encode(it.text), it.atStart) }
                        }
                    }
                }

                "Sequence" -> {
                    val parts = (m["pretokenizers"] as List<*>).map { preTokenizer(it as Map<*, *>) }
                    PreTokenizer { pieces -> parts.fold(pieces) { acc, p -> p.split(acc) } }
                }

                else -> {
                    unsupported("pre-tokenizer $t")
                }
            }

        private fun regexPieces(
            p: Piece,
            regex: Regex,
        ): List<Piece> = regex.findAll(p.text).map { Piece(it.value, p.atStart && it.range.first == 0) }.toList()

        private fun whitespacePieces(p: Piece): List<Piece> {
            val out = ArrayList<Piece>()
            var i = 0
            while (i < p.text.length) {
                while (i < p.text.length && isWhite(p.text[i])) i++
                val start = i
                while (i < p.text.length && !isWhite(p.text[i])) i++
                if (i > start) out += Piece(p.text.substring(start, i), p.atStart && start == 0)
            }
            return out
        }

        private fun prependScheme(m: Map<*, *>): String =
            when (val s = m["prepend_scheme"] as? String) {
                null -> if (m.bool("add_prefix_space", true)) "always" else "never"
                "always", "first", "never" -> s
                else -> unsupported("Metaspace prepend_scheme '$s'")
            }

        private fun metaspace(
            p: Piece,
            replacement: Char,
            scheme: String,
            split: Boolean,
        ): List<Piece> {
            var text = p.text.replace(' ', replacement)
            val prepend = scheme == "always" || (scheme == "first" && p.atStart)
            if (prepend && !text.startsWith(replacement)) text = replacement + text
            if (!split) return listOf(Piece(text, p.atStart))
            // MergedWithNext: every replacement character starts a new piece
            val out = ArrayList<Piece>()
            var start = 0
            for (i in 1 until text.length) {
                if (text[i] == replacement) {
                    out += Piece(text.substring(start, i), p.atStart && start == 0)
                    start = i
                }
            }
            if (start < text.length) out += Piece(text.substring(start), p.atStart && start == 0)
            return out
        }

        // -- models -------------------------------------------------------------------------

        private fun model(m: Map<*, *>): TokenModel =
            when (val t = m.type()) {
                "BPE" -> bpe(m)
                "Unigram" -> unigram(m)
                "WordLevel" -> wordLevel(m)
                else -> unsupported("model $t")
            }

        private fun vocabMap(m: Map<*, *>): Map<String, Int> =
            (m["vocab"] as? Map<*, *> ?: throw IllegalArgumentException("tokenizer model has no vocab object"))
                .entries
                .associate { it.key as String to (it.value as Number).toInt() }

        private fun bpe(m: Map<*, *>): TokenModel {
            val dropout = (m["dropout"] as? Number)?.toDouble()
            if (dropout != null && dropout > 0.0) unsupported("BPE dropout")
            val merges =
                (m["merges"] as? List<*>).orEmpty().map { entry ->
                    when (entry) {
                        is String -> {
                            val parts = entry.split(' ')
                            if (parts.size != 2) throw IllegalArgumentException("tokenizer: bad merge '$entry'")
                            parts[0] to parts[1]
                        }

                        is List<*> -> {
                            entry[0] as String to entry[1] as String
                        }

                        else -> {
                            throw IllegalArgumentException("tokenizer: bad merge $entry")
                        }
                    }
                }
            return Bpe(
                vocab = vocabMap(m),
                merges = merges,
                unk = m["unk_token"] as? String,
                prefix = m["continuing_subword_prefix"] as? String,
                suffix = m["end_of_word_suffix"] as? String,
                fuseUnk = m.bool("fuse_unk", false),
                byteFallback = m.bool("byte_fallback", false),
                ignoreMerges = m.bool("ignore_merges", false),
            )
        }

        private fun unigram(m: Map<*, *>): TokenModel {
            val pieces =
                (m["vocab"] as List<*>).map {
                    val pair = it as List<*>
                    pair[0] as String to (pair[1] as Number).toDouble()
                }
            return Unigram(pieces, (m["unk_id"] as? Number)?.toInt(), m.bool("byte_fallback", false), m.bool("fuse_unk", true))
        }

        private fun wordLevel(m: Map<*, *>): TokenModel {
            val vocab = vocabMap(m)
            val reverse = vocab.entries.associate { it.value to it.key }
            val unk = m["unk_token"] as? String
            return object : TokenModel {
                override fun tokenize(
                    word: String,
                    out: MutableList<Int>,
                ) {
                    out += vocab[word] ?: unk?.let { vocab[it] } ?: throw IllegalArgumentException("tokenizer: '$word' is not in the WordLevel vocabulary")
                }

                override fun tokenOf(id: Int): String? = reverse[id]

                override fun idOf(token: String): Int? = vocab[token]
            }
        }

        // -- decoders -----------------------------------------------------------------------

        private fun decoder(m: Map<*, *>): TokenDecoder =
            when (val t = m.type()) {
                "BPEDecoder" -> {
                    val suffix = m["suffix"] as? String ?: "</w>"
                    TokenDecoder { tokens -> tokens.mapIndexed { i, tok -> tok.replace(suffix, if (i == tokens.size - 1) "" else " ") } }
                }

                "ByteLevel" -> {
                    TokenDecoder { tokens -> listOf(ByteLevel.decode(tokens)) }
                }

                "Metaspace" -> {
                    val replacement = (m["replacement"] as? String)?.singleOrNull() ?: unsupported("Metaspace replacement '${m["replacement"]}'")
                    val strip = prependScheme(m) != "never"
                    TokenDecoder { tokens ->
                        tokens.mapIndexed { i, tok ->
                            val sb = StringBuilder(tok.length)
                            for (c in tok) {
                                if (c != replacement) {
                                    sb.append(c)
                                } else if (!(i == 0 && strip)) {
                                    sb.append(' ')
                                }
                            }
                            sb.toString()
                        }
                    }
                }

                "Replace" -> {
                    val from = replacePattern(m)
                    val to = m["content"] as? String ?: ""
                    TokenDecoder { tokens -> tokens.map { it.replace(from, Regex.escapeReplacement(to)) } }
                }

                "ByteFallback" -> {
                    TokenDecoder { tokens -> byteFallback(tokens) }
                }

                "Fuse" -> {
                    TokenDecoder { tokens -> listOf(tokens.joinToString("")) }
                }

                "Strip" -> {
                    val content = (m["content"] as? String)?.singleOrNull() ?: unsupported("decoder Strip content '${m["content"]}'")
                    val left = (m["start"] as? Number)?.toInt() ?: 0
                    val right = (m["stop"] as? Number)?.toInt() ?: 0
                    TokenDecoder { tokens -> tokens.map { stripChars(it, content, left, right) } }
                }

                "Sequence" -> {
                    val parts = (m["decoders"] as List<*>).map { decoder(it as Map<*, *>) }
                    TokenDecoder { tokens -> parts.fold(tokens) { acc, d -> d.decode(acc) } }
                }

                else -> {
                    unsupported("decoder $t")
                }
            }

        /** Runs of `<0xXX>` tokens back to their UTF-8 text (one U+FFFD per byte when invalid), as HF's ByteFallback decoder. */
        private fun byteFallback(tokens: List<String>): List<String> {
            val out = ArrayList<String>()
            val bytes = java.io.ByteArrayOutputStream()

            fun flush() {
                if (bytes.size() == 0) return
                val decoder = StandardCharsets.UTF_8.newDecoder()
                val text = runCatching { decoder.decode(ByteBuffer.wrap(bytes.toByteArray())).toString() }.getOrNull()
                if (text != null) out += text else repeat(bytes.size()) { out += "\uFFFD" }
                bytes.reset()
            }
            for (t in tokens) {
                val b = if (t.length == 6 && t.startsWith("<0x") && t.endsWith(">")) t.substring(3, 5).toIntOrNull(16) else null
                if (b != null) {
                    bytes.write(b)
                } else {
                    flush()
                    out += t
                }
            }
            flush()
            return out
        }

        private fun stripChars(
            s: String,
            c: Char,
            left: Int,
            right: Int,
        ): String {
            var a = 0
            var b = s.length
            while (a < left && a < b && s[a] == c) a++
            var n = 0
            while (n < right && b > a && s[b - 1] == c) {
                b--
                n++
            }
            return s.substring(a, b)
        }

        // -- post-processors ----------------------------------------------------------------

        private fun postProcessor(
            m: Map<*, *>,
            added: List<Added>,
        ): PostProcessor? =
            when (val t = m.type()) {
                "TemplateProcessing" -> {
                    template(m)
                }

                "RobertaProcessing", "BertProcessing" -> {
                    val cls = (m["cls"] as List<*>)[1] as Number
                    val sep = (m["sep"] as List<*>)[1] as Number
                    Template(listOf(cls.toInt(), -1, sep.toInt()))
                }

                "ByteLevel" -> {
                    null
                }

                // offsets only: the ids are unchanged
                "Sequence" -> {
                    val parts = (m["processors"] as List<*>).mapNotNull { postProcessor(it as Map<*, *>, added) }
                    when (parts.size) {
                        0 -> null
                        1 -> parts[0]
                        else -> unsupported("post-processor Sequence of several templates")
                    }
                }

                else -> {
                    unsupported("post-processor $t")
                }
            }

        private fun template(m: Map<*, *>): PostProcessor {
            val specials = m["special_tokens"] as? Map<*, *> ?: emptyMap<String, Any?>()
            val items = ArrayList<Int>() // ids; -1 marks the sequence
            for (item in m["single"] as List<*>) {
                val e = item as Map<*, *>
                val seq = e["Sequence"] as? Map<*, *>
                val tok = e["SpecialToken"] as? Map<*, *>
                when {
                    seq != null -> {
                        if (seq["id"] != "A") unsupported("single template sequence '${seq["id"]}'")
                        items += -1
                    }

                    tok != null -> {
                        val def = specials[tok["id"]] as? Map<*, *> ?: throw IllegalArgumentException("template token '${tok["id"]}' is not defined")
                        (def["ids"] as List<*>).forEach { items += (it as Number).toInt() }
                    }

                    else -> {
                        unsupported("template item $e")
                    }
                }
            }
            return Template(items)
        }

        private class Template(
            val items: List<Int>,
        ) : PostProcessor {
            override val added: Int = items.count { it >= 0 }

            override fun apply(ids: IntArray): IntArray {
                val out = ArrayList<Int>(ids.size + added)
                for (i in items) if (i >= 0) out += i else ids.forEach { out += it }
                return out.toIntArray()
            }
        }
    }

    /** BPE as HF runs it on one pre-tokenized word. */
    private class Bpe(
        private val vocab: Map<String, Int>,
        merges: List<Pair<String, String>>,
        unk: String?,
        private val prefix: String?,
        private val suffix: String?,
        private val fuseUnk: Boolean,
        private val byteFallback: Boolean,
        private val ignoreMerges: Boolean,
    ) : TokenModel {
        private val reverse = vocab.entries.associate { it.value to it.key }
        private val unkId: Int? = unk?.let { vocab[it] ?: throw IllegalArgumentException("tokenizer: unk token '$it' is not in the vocabulary") }

        private val table = BpeMerges()

        init {
            val prefixLen = prefix?.length ?: 0
            merges.forEachIndexed { rank, (a, b) ->
                val ia = vocab[a] ?: throw IllegalArgumentException("tokenizer: merge part '$a' is not in the vocabulary")
                val ib = vocab[b] ?: throw IllegalArgumentException("tokenizer: merge part '$b' is not in the vocabulary")
                val joined = a + b.substring(minOf(prefixLen, b.length))
                val merged = vocab[joined] ?: throw IllegalArgumentException("tokenizer: merge result '$joined' is not in the vocabulary")
                table.add(ia, ib, rank, merged)
            }
        }

        override fun tokenOf(id: Int): String? = reverse[id]

        override fun idOf(token: String): Int? = vocab[token]

        override fun tokenize(
            word: String,
            out: MutableList<Int>,
        ) {
            if (ignoreMerges) vocab[word]?.let { return run { out += it } }
            val ids = ArrayList<Int>()
            var pendingUnk = false
            val cps = word.codePoints().toArray()
            cps.forEachIndexed { i, cp ->
                var s = String(Character.toChars(cp))
                if (i > 0 && prefix != null) s = prefix + s
                if (i == cps.size - 1 && suffix != null) s += suffix
                val id = vocab[s]
                if (id != null) {
                    if (pendingUnk) ids += unkId!!
                    pendingUnk = false
                    ids += id
                    return@forEachIndexed
                }
                if (byteFallback) {
                    val bytes = s.toByteArray(StandardCharsets.UTF_8).map { vocab[String.format("<0x%02X>", it.toInt() and 0xFF)] }
                    if (bytes.all { it != null }) {
                        // HF adds them without flushing a pending unk first
                        bytes.forEach { ids += it!! }
                        return@forEachIndexed
                    }
                }
                if (unkId != null) {
                    if (pendingUnk && !fuseUnk) ids += unkId
                    pendingUnk = true
                }
            }
            if (pendingUnk) ids += unkId!!
            table.apply(ids)
            out += ids
        }
    }

    /** Unigram: the Viterbi best path over the pieces' log-probabilities, unknown characters fused, as HF's `encode_optimized`. */
    private class Unigram(
        pieces: List<Pair<String, Double>>,
        private val unkId: Int?,
        private val byteFallback: Boolean,
        private val fuseUnk: Boolean,
    ) : TokenModel {
        private val tokens = pieces.map { it.first }
        private val scores = pieces.map { it.second }.toDoubleArray()
        private val ids = HashMap<String, Int>()
        private val maxLen = pieces.maxOfOrNull { it.first.length } ?: 0
        private val unkScore = (scores.minOrNull() ?: 0.0) - 10.0

        init {
            tokens.forEachIndexed { i, t -> ids[t] = i } // a repeated piece keeps its last id, as HF's map does
        }

        override fun tokenOf(id: Int): String? = tokens.getOrNull(id)

        override fun idOf(token: String): Int? = ids[token]

        override fun tokenize(
            word: String,
            out: MutableList<Int>,
        ) {
            val n = word.length
            val best = DoubleArray(n + 1)
            val from = IntArray(n + 1) { -1 }
            val id = IntArray(n + 1)
            var start = 0
            while (start < n) {
                val here = best[start]
                val charLen = Character.charCount(word.codePointAt(start))
                var single = false
                val limit = minOf(n, start + maxLen)
                var end = start + charLen
                while (end <= limit) {
                    val piece = ids[word.substring(start, end)]
                    if (piece != null) {
                        val score = scores[piece] + here
                        if (from[end] < 0 || score > best[end]) {
                            best[end] = score
                            from[end] = start
                            id[end] = piece
                        }
                        if (end - start == charLen) single = true
                    }
                    if (end >= n) break
                    end += Character.charCount(word.codePointAt(end))
                }
                if (!single) {
                    val u = unkId ?: throw IllegalArgumentException("tokenizer: Unigram has no unk_id for '${word.substring(start, start + charLen)}'")
                    val score = unkScore + here
                    val to = start + charLen
                    if (from[to] < 0 || score > best[to]) {
                        best[to] = score
                        from[to] = start
                        id[to] = u
                    }
                }
                start += charLen
            }
            // back from the end: the best path's strings, consecutive unknowns fused
            val strings = ArrayList<String>()
            var end = n
            var unk = StringBuilder()
            var fusing = false
            while (end > 0) {
                val s = from[end]
                if (fuseUnk && unkId != null && id[end] == unkId) {
                    unk.insert(0, word.substring(s, end))
                    fusing = true
                } else {
                    if (fusing) strings += unk.toString()
                    unk = StringBuilder()
                    fusing = false
                    strings += word.substring(s, end)
                }
                end = s
            }
            if (fusing) strings += unk.toString()
            strings.reverse()
            for (s in strings) {
                val known = ids[s]
                if (known != null) {
                    out += known
                    continue
                }
                if (byteFallback) {
                    val bytes = s.toByteArray(StandardCharsets.UTF_8).map { ids[String.format("<0x%02X>", it.toInt() and 0xFF)] }
                    if (bytes.all { it != null }) {
                        bytes.forEach { out += it!! }
                        continue
                    }
                }
                out += unkId ?: throw IllegalArgumentException("tokenizer: Unigram has no unk_id")
            }
        }
    }
}

/** GPT-2's byte-to-unicode map, as HF's ByteLevel pre-tokenizer and decoder use it. */
object ByteLevel {
    private val byteToChar = CharArray(256)
    private val charToByte = HashMap<Char, Int>()

    init {
        val direct = (33..126) + (161..172) + (174..255)
        var extra = 0
        for (b in 0 until 256) {
            val c = if (b in direct) b else 256 + extra++
            byteToChar[b] = c.toChar()
            charToByte[c.toChar()] = b
        }
    }

    fun encode(text: String): String {
        val bytes = text.toByteArray(StandardCharsets.UTF_8)
        val sb = StringBuilder(bytes.size)
        for (b in bytes) sb.append(byteToChar[b.toInt() and 0xFF])
        return sb.toString()
    }

    /** Tokens' characters back to bytes (a token with a character outside the map keeps its UTF-8), decoded lossily. */
    fun decode(tokens: List<String>): String {
        val out = java.io.ByteArrayOutputStream()
        for (t in tokens) {
            val mapped = t.map { charToByte[it] }
            if (mapped.all { it != null }) mapped.forEach { out.write(it!!) } else out.write(t.toByteArray(StandardCharsets.UTF_8))
        }
        val decoder =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE)
        return decoder.decode(ByteBuffer.wrap(out.toByteArray())).toString()
    }
}

/**
 * SentencePiece's precompiled normalization (the `Precompiled` normalizer of converted T5, mBART,
 * M2M100... tokenizers): a darts-clone double-array trie from UTF-8 keys to offsets of
 * NUL-terminated replacements, applied per grapheme (when shorter than 6 bytes) else per
 * character, as HF `tokenizers` / `spm_precompiled` do.
 */
class Precompiled private constructor(
    private val trie: IntArray,
    private val normalized: ByteArray,
) {
    fun normalize(text: String): String {
        val out = StringBuilder(text.length)
        val graphemes = java.text.BreakIterator.getCharacterInstance(java.util.Locale.ROOT)
        graphemes.setText(text)
        var start = graphemes.first()
        var end = graphemes.next()
        while (end != java.text.BreakIterator.DONE) {
            val grapheme = text.substring(start, end)
            val whole = if (grapheme.toByteArray(StandardCharsets.UTF_8).size < 6) transform(grapheme) else null
            if (whole != null) {
                out.append(whole)
            } else {
                var i = 0
                while (i < grapheme.length) {
                    val n = Character.charCount(grapheme.codePointAt(i))
                    val part = grapheme.substring(i, i + n)
                    out.append(transform(part) ?: part)
                    i += n
                }
            }
            start = end
            end = graphemes.next()
        }
        return out.toString()
    }

    private fun transform(chunk: String): String? {
        val key = chunk.toByteArray(StandardCharsets.UTF_8)
        var node = 0
        var unit = trie[node]
        node = node xor offset(unit)
        for (b in key) {
            val c = b.toInt() and 0xFF
            if (c == 0) break
            node = node xor c
            if (node !in trie.indices) return null
            unit = trie[node]
            if (label(unit) != c) return null
            node = node xor offset(unit)
            if (hasLeaf(unit)) {
                // the first (shortest) match wins, as spm_precompiled takes results[0]
                val index = trie[node] and 0x7FFFFFFF
                var stop = index
                while (stop < normalized.size && normalized[stop] != 0.toByte()) stop++
                return String(normalized, index, stop - index, StandardCharsets.UTF_8)
            }
        }
        return null
    }

    companion object {
        private fun hasLeaf(unit: Int): Boolean = (unit ushr 8) and 1 == 1

        private fun label(unit: Int): Int = unit and (0x80000000.toInt() or 0xFF)

        private fun offset(unit: Int): Int = (unit ushr 10) shl ((unit and (1 shl 9)) ushr 6)

        fun parse(base64: String): Precompiled {
            val blob =
                java.util.Base64
                    .getDecoder()
                    .decode(base64)
            val buffer = ByteBuffer.wrap(blob).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            val trieBytes = buffer.getInt()
            require(trieBytes >= 0 && 4 + trieBytes <= blob.size) { "tokenizer: bad Precompiled charsmap" }
            val trie = IntArray(trieBytes / 4) { buffer.getInt() }
            return Precompiled(trie, blob.copyOfRange(4 + trieBytes, blob.size))
        }
    }
}
