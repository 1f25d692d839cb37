package dev.mobilekit.core

/**
 * The device benchmark of a translation bundle: greedy decoding of the golden sentences with
 * the KV cache, timing every decoder step (per-token latency) and each encoder run, and checking
 * the generated ids against the golden `output_ids` (the device-side golden test).
 */
object TranslationBench {
    data class Outcome(
        val timings: Timings,
        val encoderMs: DoubleArray,
        val tokenExact: Int,
        val sentences: Int,
        val mismatches: List<String>,
    )

    fun measure(
        config: TranslationConfig,
        golden: TranslationGolden,
        warmupSentences: Int,
        init: () -> Unit,
        load: () -> Seq2SeqRunner,
        memory: PeakMemory = PeakMemory(),
        nanoTime: () -> Long = System::nanoTime,
    ): Outcome {
        require(golden.samples.isNotEmpty()) { "no golden sentences" }
        var t = nanoTime()
        init()
        val initMs = (nanoTime() - t) / 1e6
        memory.reset()
        t = nanoTime()
        val runner = load()
        val loadMs = (nanoTime() - t) / 1e6
        memory.sample()
        runner.use { r ->
            val decoder = GreedyDecoder(config, nanoTime)
            val first = decoder.decode(r, golden.samples[0].sourceIds)
            val firstMs = first.encodeMs + first.stepMs.sum()
            for (i in 0 until warmupSentences) decoder.decode(r, golden.samples[(i + 1) % golden.samples.size].sourceIds)
            val steps = ArrayList<Double>()
            val encoder = ArrayList<Double>()
            val mismatches = ArrayList<String>()
            var exact = 0
            for (s in golden.samples) {
                val g = decoder.decode(r, s.sourceIds)
                memory.sample()
                steps += g.stepMs.toList()
                encoder += g.encodeMs
                if (strip(g.ids, config.special.eos).contentEquals(strip(s.outputIds, config.special.eos))) {
                    exact++
                } else {
                    mismatches += s.text
                }
            }
            val timings = Timings(initMs, loadMs, firstMs, steps.toDoubleArray(), memory.result())
            return Outcome(timings, encoder.toDoubleArray(), exact, golden.samples.size, mismatches)
        }
    }

    /** Golden `output_ids` may omit the final `<eos>`. */
    private fun strip(
        ids: IntArray,
        eos: Int,
    ): IntArray = if (ids.isNotEmpty() && ids.last() == eos) ids.copyOf(ids.size - 1) else ids
}
