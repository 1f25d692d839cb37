package dev.mobilekit.core

/**
 * A seq2seq model as the greedy loop sees it: run the encoder once, then one decoder step per
 * token. The app implements it over two LiteRT interpreters (encoder, decoder step with a KV
 * cache); tests implement it by replaying recorded logits.
 */
interface Seq2SeqRunner : AutoCloseable {
    /** Runs the encoder on padded [sourceIds] and resets the decoder's cache. */
    fun encode(sourceIds: IntArray)

    /** Feeds [token] at [position] (0 for `<bos>`) and returns the logits over the vocabulary. */
    fun step(
        token: Int,
        position: Int,
    ): FloatArray

    override fun close() {}
}

/** The result of one translation: generated ids (with `<eos>` when it was produced) and timings. */
data class Generation(
    val ids: IntArray,
    val stepMs: DoubleArray,
    val encodeMs: Double,
    val stoppedAtEos: Boolean,
) {
    /** The ids to detokenize (the contract's output text): everything but `<bos>`, `<eos>` and `<pad>`. */
    fun tokens(special: SpecialTokens): IntArray = textIds(ids, special)

    companion object {
        fun textIds(
            ids: IntArray,
            special: SpecialTokens,
        ): IntArray = ids.filter { it != special.bos && it != special.eos && it != special.pad }.toIntArray()
    }
}

/** The translation contract's source format and greedy decoding, independent of any runtime. */
class GreedyDecoder(
    private val config: TranslationConfig,
    private val clock: () -> Long = System::nanoTime,
) {
    private val special = config.special

    /** `<bos>? tokens <eos>` padded with `<pad>` to the maximum source length (tokens truncated to fit). */
    fun sourceIds(tokens: IntArray): IntArray {
        val bos = if (config.sourceStartsWithBos) 1 else 0
        val room = config.maxSourceLen - bos - 1
        require(room >= 0) { "max_source_len ${config.maxSourceLen} leaves no room for tokens" }
        val out = IntArray(config.maxSourceLen) { special.pad }
        if (bos == 1) out[0] = special.bos
        val n = minOf(room, tokens.size)
        tokens.copyInto(out, bos, 0, n)
        out[bos + n] = special.eos
        return out
    }

    /**
     * Starts from `<bos>` (the manifest's decoder start) and feeds one token per step, taking the
     * argmax (lowest index on ties; a `forced_bos`/`forced_eos` the manifest records replaces it at
     * the first/last allowed step); stops at `<eos>` or after `max_target_len - 1` generated tokens. [onToken] sees each token
     * as it is produced (for a streaming UI).
     */
    fun decode(
        runner: Seq2SeqRunner,
        sourceIds: IntArray,
        onToken: (id: Int, ms: Double) -> Unit = { _, _ -> },
    ): Generation {
        val t0 = clock()
        runner.encode(sourceIds)
        val encodeMs = (clock() - t0) / 1e6
        val ids = ArrayList<Int>()
        val times = ArrayList<Double>()
        var token = special.bos
        var eos = false
        for (position in 0 until config.maxTargetLen - 1) {
            val start = clock()
            val logits = runner.step(token, position)
            require(logits.size >= config.vocabSize) { "decoder gave ${logits.size} logits, expected ${config.vocabSize}" }
            val next = forced(position, config.maxTargetLen - 1) ?: argmax(logits, config.vocabSize)
            val ms = (clock() - start) / 1e6
            ids += next
            times += ms
            onToken(next, ms)
            if (next == special.eos) {
                eos = true
                break
            }
            token = next
        }
        return Generation(ids.toIntArray(), times.toDoubleArray(), encodeMs, eos)
    }

    /** HF generate's forced tokens, as the manifest records them: `forced_bos` first, `forced_eos` at the last allowed step. */
    private fun forced(
        position: Int,
        limit: Int,
    ): Int? =
        when {
            position == 0 && config.forcedBos != null -> config.forcedBos
            position == limit - 1 && config.forcedEos != null -> config.forcedEos
            else -> null
        }

    companion object {
        /** Index of the largest of the first [n] values; the lowest index wins ties. */
        fun argmax(
            values: FloatArray,
            n: Int = values.size,
        ): Int {
            var best = 0
            for (i in 1 until n) if (values[i] > values[best]) best = i
            return best
        }
    }
}

/**
 * The translation contract's text side, as the manifest declares it: for a Hugging Face bundle
 * (`decoder_start` recorded) the tokenizer's own contract (tokens without specials, truncated so
 * the post-processor's specials fit, the template, `<pad>` to `max_source_len`; output decoded
 * with `skip_special_tokens`), else the shipped one (`tokens <eos> <pad>*`, `<unk>` kept).
 */
class TranslationText(
    val tokenizer: TextTokenizer,
    private val config: TranslationConfig,
) {
    private val greedy = GreedyDecoder(config)

    init {
        if (config.tokenizerContract && tokenizer !is HfTokenizer) {
            throw ManifestException("a Hugging Face translation bundle needs the tokenizer.json reader (HfTokenizer)")
        }
    }

    /** The padded source ids of [text] (HF: `HfText.encode_source`). */
    fun sourceIds(text: String): IntArray {
        val tokens = tokenizer.encode(text)
        if (!config.tokenizerContract) return greedy.sourceIds(tokens)
        val tok = tokenizer as HfTokenizer
        val max = config.maxSourceLen
        val extra = if (tok.hasTemplate) tok.specialTokensToAdd else 1
        val kept = tokens.copyOf(minOf(tokens.size, maxOf(max - extra, 0)))
        val ids = if (tok.hasTemplate) tok.applyTemplate(kept) else kept + config.special.eos
        return IntArray(max) { if (it < ids.size) ids[it] else config.special.pad }
    }

    /** The output text of generated [ids] (HF: `HfText.decode` of the ids without `<eos>`). */
    fun outputText(ids: IntArray): String =
        if (config.tokenizerContract) {
            tokenizer.decode(ids.filter { it != config.special.eos }.toIntArray(), skipSpecial = true)
        } else {
            tokenizer.decode(Generation.textIds(ids, config.special), skipSpecial = false)
        }

    companion object {
        /** The bundle's tokenizer file read per its declared components. */
        fun of(
            tokenizerJson: String,
            config: TranslationConfig,
        ): TranslationText = TranslationText(HfTokenizer.fromJson(tokenizerJson), config)
    }
}

/** Tokenizer + decoder + runner: text in, text out; greedy, or beam search of the manifest's contract when the runner keeps one cache per beam. */
class Translator(
    private val text: TranslationText,
    private val config: TranslationConfig,
    private val runner: Seq2SeqRunner,
) : AutoCloseable {
    private val decoder = GreedyDecoder(config)

    /** Whether [translate] can run beams wider than 1 (the manifest describes beam search, the runner forks caches). */
    val beamSupported: Boolean get() = config.beamSearch && runner is BeamRunner<*>

    /** [onToken] sees each token as it is produced (greedy), or each best-beam token at the end (beam). */
    fun translate(
        input: String,
        beamWidth: Int = 1,
        onToken: (id: Int, ms: Double) -> Unit = { _, _ -> },
    ): Pair<String, Generation> {
        val source = text.sourceIds(input)
        val generation =
            if (beamWidth <= 1) {
                decoder.decode(runner, source, onToken)
            } else {
                if (!beamSupported) throw ManifestException("beam search needs a runner with one cache per beam and a manifest with beam_search")
                @Suppress("UNCHECKED_CAST")
                val g = BeamSearch.of(config).decode(runner as BeamRunner<Any?>, source, beamWidth)
                g.ids.forEachIndexed { i, id -> onToken(id, g.stepMs.getOrElse(i) { 0.0 }) }
                g
            }
        return text.outputText(generation.ids) to generation
    }

    /** The token string of [id] (for showing tokens as they are generated). */
    fun tokenText(id: Int): String = text.tokenizer.tokenOf(id) ?: "<$id>"

    override fun close() = runner.close()
}
