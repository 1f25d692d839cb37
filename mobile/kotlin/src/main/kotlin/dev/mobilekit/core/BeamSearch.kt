package dev.mobilekit.core

/** One decoder step of one beam: the logits and the cache after it. */
class BeamStep<C>(
    val logits: FloatArray,
    val cache: C,
)

/**
 * A seq2seq model whose decoder step takes a cache and returns the next one, so every beam keeps
 * its own (the app: LiteRT buffers copied per beam; tests: any value).
 */
interface BeamRunner<C> {
    /** Runs the encoder on padded [sourceIds]. */
    fun encode(sourceIds: IntArray)

    /** The cache at step 0 (zeros). */
    fun initialCache(): C

    /** Feeds [token] at [position] with [cache]; [cache] itself is left as it was. */
    fun step(
        token: Int,
        position: Int,
        cache: C,
    ): BeamStep<C>
}

/**
 * Beam search of the manifest's `beam_search` contract (mobilekit/tasks/decoding.py `beam`, =
 * HF generate(num_beams=k, early_stopping=True, length_penalty=1.0)): one cache per beam; beam 0
 * alone is live at step 0 (the others score -1e9); each step's score is the beam's score plus
 * log_softmax(logits) (a forced token: every other id at -inf); of the best 2k of all beams x vocab
 * (ties: lower index), those among the first k that are `<eos>` or at the last allowed step finish
 * with score / len^lengthPenalty (len: generated ids, `<eos>` included); the best k unfinished run
 * on with their parent's cache; stop once k are finished; the best finished one wins. Float32
 * arithmetic as NumPy's, so scores agree with the Python runner's.
 */
class BeamSearch(
    private val vocabSize: Int,
    private val maxTargetLen: Int,
    private val start: Int,
    private val eos: Int,
    private val forcedBos: Int? = null,
    private val forcedEos: Int? = null,
    private val lengthPenalty: Double = 1.0,
    private val clock: () -> Long = System::nanoTime,
) {
    private class Beam<C>(
        val ids: IntArray,
        val score: Float,
        val cache: C,
    )

    fun <C> decode(
        runner: BeamRunner<C>,
        sourceIds: IntArray,
        width: Int,
    ): Generation {
        require(width >= 1) { "beam width must be at least 1, got $width" }
        val v = vocabSize
        require(v >= 2 * width) { "beam width $width needs a vocabulary of at least ${2 * width} ids" }
        val t0 = clock()
        runner.encode(sourceIds)
        val encodeMs = (clock() - t0) / 1e6
        val limit = maxTargetLen - 1
        val zeros = runner.initialCache()
        var running = List(width) { Beam(IntArray(0), if (it == 0) 0f else -1e9f, zeros) }
        var finished = ArrayList<Pair<Double, IntArray>>()
        val times = ArrayList<Double>()
        val flat = FloatArray(width * v)
        for (position in 0 until limit) {
            val started = clock()
            val caches = ArrayList<C>(width)
            val want = forced(position, limit)
            running.forEachIndexed { b, beam ->
                val res = runner.step(if (beam.ids.isEmpty()) start else beam.ids.last(), position, beam.cache)
                require(res.logits.size >= v) { "decoder gave ${res.logits.size} logits, expected $v" }
                val logp = logSoftmax(res.logits, v)
                if (want != null) {
                    logp.fill(Float.NEGATIVE_INFINITY)
                    logp[want] = 0f
                }
                for (i in 0 until v) flat[b * v + i] = logp[i] + beam.score
                caches += res.cache
            }
            val top = best(flat, 2 * width)
            val ends = BooleanArray(top.size) { top[it] % v == eos || position == limit - 1 }
            for (j in 0 until width) {
                if (ends[j]) {
                    val i = top[j]
                    val len = Math.pow((position + 1).toDouble(), lengthPenalty).toFloat()
                    finished += (flat[i] / len).toDouble() to (running[i / v].ids + (i % v))
                }
            }
            finished = ArrayList(finished.sortedWith { a, b -> descending(a.first, b.first) }.take(width))
            val adjusted = FloatArray(top.size) { if (ends[it]) flat[top[it]] - 1e9f else flat[top[it]] }
            val keep = top.indices.sortedWith { a, b -> descending(adjusted[a].toDouble(), adjusted[b].toDouble()) }.take(width)
            running = keep.map { j -> Beam(running[top[j] / v].ids + (top[j] % v), adjusted[j], caches[top[j] / v]) }
            times += (clock() - started) / 1e6
            if (finished.size == width) break // early_stopping=True: every slot holds a finished hypothesis
        }
        val ids = finished.firstOrNull()?.second ?: IntArray(0)
        return Generation(ids, times.toDoubleArray(), encodeMs, ids.isNotEmpty() && ids.last() == eos)
    }

    private fun forced(
        position: Int,
        limit: Int,
    ): Int? =
        when {
            position == 0 && forcedBos != null -> forcedBos
            position == limit - 1 && forcedEos != null -> forcedEos
            else -> null
        }

    companion object {
        fun of(
            config: TranslationConfig,
            lengthPenalty: Double = 1.0,
        ): BeamSearch =
            BeamSearch(
                config.vocabSize,
                config.maxTargetLen,
                config.special.bos,
                config.special.eos,
                config.forcedBos,
                config.forcedEos,
                lengthPenalty,
            )

        /** Larger first; equal values (0.0 == -0.0, as NumPy sees them) keep their order. */
        private fun descending(
            a: Double,
            b: Double,
        ): Int =
            when {
                a == b -> 0
                a > b -> -1
                else -> 1
            }

        /** The indices of the [n] largest values, largest first, ties by lower index (`np.argsort(-x, kind="stable")[:n]`). */
        internal fun best(
            values: FloatArray,
            n: Int,
        ): IntArray {
            val idx = IntArray(n)
            var count = 0
            for (i in values.indices) {
                val x = values[i]
                if (count == n && !(x > values[idx[count - 1]])) continue
                var at = minOf(count, n - 1)
                while (at > 0 && x > values[idx[at - 1]]) {
                    if (at < n) idx[at] = idx[at - 1]
                    at--
                }
                idx[at] = i
                if (count < n) count++
            }
            return idx.copyOf(count)
        }

        /** log_softmax in float32 as NumPy computes it (max, exp, pairwise sum, log). */
        fun logSoftmax(
            x: FloatArray,
            n: Int,
        ): FloatArray {
            var m = x[0]
            for (i in 1 until n) if (x[i] > m) m = x[i]
            val z = FloatArray(n) { x[it] - m }
            val e = FloatArray(n) { Math.exp(z[it].toDouble()).toFloat() }
            val sum = if (n == 1) e[0] else e[0] + pairwiseSum(e, 1, n - 1)
            val lse = Math.log(sum.toDouble()).toFloat()
            return FloatArray(n) { z[it] - lse }
        }

        /** NumPy's float32 pairwise summation of values[from until from + n]. */
        private fun pairwiseSum(
            a: FloatArray,
            from: Int,
            n: Int,
        ): Float {
            if (n < 8) {
                var res = 0f
                for (i in 0 until n) res += a[from + i]
                return res
            }
            if (n <= 128) {
                val r = FloatArray(8) { a[from + it] }
                var i = 8
                while (i < n - (n % 8)) {
                    for (j in 0 until 8) r[j] += a[from + i + j]
                    i += 8
                }
                var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
                while (i < n) res += a[from + i++]
                return res
            }
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2)
        }
    }
}
