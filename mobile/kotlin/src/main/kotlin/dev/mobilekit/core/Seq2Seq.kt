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
     * Starts from `<bos>` and feeds one token per step, taking the argmax (lowest index on ties);
     * stops at `<eos>` or after `max_target_len - 1` generated tokens. [onToken] sees each token
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
            val next = argmax(logits, config.vocabSize)
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

/** Tokenizer + decoder + runner: text in, text out. */
class Translator(
    private val tokenizer: BpeTokenizer,
    private val config: TranslationConfig,
    private val runner: Seq2SeqRunner,
) : AutoCloseable {
    private val decoder = GreedyDecoder(config)

    fun translate(
        text: String,
        onToken: (id: Int, ms: Double) -> Unit = { _, _ -> },
    ): Pair<String, Generation> {
        val generation = decoder.decode(runner, decoder.sourceIds(tokenizer.encode(text)), onToken)
        return tokenizer.decode(generation.tokens(config.special)) to generation
    }

    /** The token string of [id] (for showing tokens as they are generated). */
    fun tokenText(id: Int): String = tokenizer.tokenOf(id) ?: "<$id>"

    override fun close() = runner.close()
}
