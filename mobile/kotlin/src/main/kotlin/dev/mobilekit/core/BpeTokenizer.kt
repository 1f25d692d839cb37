package dev.mobilekit.core

/**
 * The bundle's word-level BPE tokenizer, reimplementing exactly what Hugging Face `tokenizers`
 * does for the translation contract: `Lowercase` normalizer, `Whitespace` pre-tokenizer
 * (`\w+|[^\w\s]+`), BPE with an end-of-word suffix and no continuing-subword prefix, and the
 * `BPEDecoder`. Special tokens are never produced from text words; BOS/EOS are added by the caller.
 */
class BpeTokenizer(
    private val vocab: Map<String, Int>,
    merges: List<Pair<String, String>>,
    private val unkToken: String?,
    private val suffix: String,
    private val lowercase: Boolean,
    private val ignoreMerges: Boolean = false,
    private val added: Map<String, Int> = emptyMap(),
    private val special: Set<Int> = emptySet(),
) : TextTokenizer {
    private val idToToken: Map<Int, String> = (vocab.entries.associate { it.value to it.key }) + added.entries.associate { it.value to it.key }

    private val mergeTable = BpeMerges()

    init {
        merges.forEachIndexed { rank, (a, b) ->
            val ia = vocab[a] ?: throw IllegalArgumentException("tokenizer: merge part '$a' is not in the vocabulary")
            val ib = vocab[b] ?: throw IllegalArgumentException("tokenizer: merge part '$b' is not in the vocabulary")
            val merged = vocab[a + b] ?: throw IllegalArgumentException("tokenizer: merge result '$a$b' is not in the vocabulary")
            mergeTable.add(ia, ib, rank, merged)
        }
    }

    val unkId: Int? get() = unkToken?.let { vocab[it] ?: added[it] }

    override fun encode(text: String): IntArray {
        val out = ArrayList<Int>()
        for ((piece, addedId) in splitOnAdded(text)) {
            if (addedId != null) {
                out += addedId
                continue
            }
            val normalized = if (lowercase) lower(piece) else piece
            for (m in WORD.findAll(normalized)) out += encodeWord(m.value)
        }
        return out.toIntArray()
    }

    /**
     * The text of [ids] as HF's `BPEDecoder` gives it: token strings concatenated, the suffix read
     * as a space (dropped on the last token), the result stripped. Special tokens are kept (as
     * `decode(..., skip_special_tokens=False)`), so an `<unk>` stays visible; callers drop
     * `<bos>`/`<eos>`/`<pad>` first (see [Generation.tokens]), or pass [skipSpecial].
     */
    override fun decode(
        ids: IntArray,
        skipSpecial: Boolean,
    ): String {
        val tokens = ids.filter { !skipSpecial || it !in special }.mapNotNull { idToToken[it] }
        val sb = StringBuilder()
        tokens.forEachIndexed { i, t -> sb.append(if (suffix.isEmpty()) t else t.replace(suffix, if (i == tokens.size - 1) "" else " ")) }
        return sb.toString().trim()
    }

    override fun tokenOf(id: Int): String? = idToToken[id]

    private fun encodeWord(word: String): List<Int> {
        if (ignoreMerges) vocab[word + suffix]?.let { return listOf(it) }
        val cps = word.codePoints().toArray()
        val ids = ArrayList<Int>(cps.size)
        cps.forEachIndexed { i, cp ->
            var s = String(Character.toChars(cp))
            if (i == cps.size - 1) s += suffix
            val id = vocab[s] ?: unkId ?: return@forEachIndexed // HF drops unknown symbols without an unk token
            ids += id
        }
        mergeTable.apply(ids)
        return ids
    }

    /** Splits [text] around literal added tokens (longest match first), as HF does before normalizing. */
    private fun splitOnAdded(text: String): List<Pair<String, Int?>> {
        if (added.isEmpty()) return listOf(text to null)
        val contents = added.keys.sortedByDescending { it.length }
        val out = ArrayList<Pair<String, Int?>>()
        var start = 0
        var i = 0
        while (i < text.length) {
            val hit = contents.firstOrNull { it.isNotEmpty() && text.startsWith(it, i) }
            if (hit == null) {
                i++
                continue
            }
            if (i > start) out += text.substring(start, i) to null
            out += hit to added[hit]
            i += hit.length
            start = i
        }
        if (start < text.length) out += text.substring(start) to null
        return out
    }

    companion object {
        // (?U): Unicode-aware \w and \s, as in the Rust regex HF uses
        private val WORD = Regex("(?U)\\w+|[^\\w\\s]+")

        /** Per-character lowercasing, as HF's `Lowercase` normalizer (no context rules). */
        private fun lower(s: String): String {
            val sb = StringBuilder(s.length)
            s.codePoints().forEach { sb.append(String(Character.toChars(it)).lowercase()) }
            return sb.toString()
        }

        /** Reads a `tokenizer.json`; fails on anything outside the contract rather than guessing. */
        fun fromJson(text: String): BpeTokenizer {
            val root = Json.parse(text) as? Map<*, *> ?: throw IllegalArgumentException("tokenizer.json is not an object")
            val model = root["model"] as? Map<*, *> ?: throw IllegalArgumentException("tokenizer.json has no model")
            require(model["type"] == "BPE") { "tokenizer model is ${model["type"]}, not BPE" }
            require(model["continuing_subword_prefix"] == null) { "a continuing-subword prefix is not supported" }
            require(model["byte_fallback"] != true) { "byte fallback is not supported" }
            val pre = root["pre_tokenizer"] as? Map<*, *>
            require(pre == null || pre["type"] == "Whitespace") { "pre-tokenizer ${pre?.get("type")} is not supported" }
            val normalizer = root["normalizer"] as? Map<*, *>
            require(normalizer == null || normalizer["type"] == "Lowercase") { "normalizer ${normalizer?.get("type")} is not supported" }
            val vocab = (model["vocab"] as Map<*, *>).entries.associate { it.key as String to (it.value as Number).toInt() }
            val merges =
                (model["merges"] as List<*>).map { m ->
                    when (m) {
                        is String -> {
                            val parts = m.split(' ')
                            require(parts.size == 2) { "bad merge '$m'" }
                            parts[0] to parts[1]
                        }

                        is List<*> -> {
                            m[0] as String to m[1] as String
                        }

                        else -> {
                            throw IllegalArgumentException("bad merge $m")
                        }
                    }
                }
            val addedTokens = (root["added_tokens"] as? List<*>).orEmpty().map { it as Map<*, *> }
            return BpeTokenizer(
                vocab = vocab,
                merges = merges,
                unkToken = model["unk_token"] as? String,
                suffix = model["end_of_word_suffix"] as? String ?: "",
                lowercase = normalizer != null,
                ignoreMerges = model["ignore_merges"] == true,
                added = addedTokens.associate { it["content"] as String to (it["id"] as Number).toInt() },
                special = addedTokens.filter { it["special"] == true }.map { (it["id"] as Number).toInt() }.toSet(),
            )
        }
    }
}
