package dev.mobilekit.core

/** A loaded model: [infer] runs one inference on prepared input sample number [sample]. */
interface BenchSession : AutoCloseable {
    fun infer(sample: Int)
}

/**
 * The measurement protocol shared with mobilekit's host benchmark:
 * init (runtime set-up) → load → one first inference → [warmupRuns] unrecorded runs →
 * [runs] measured runs, with memory sampled after load and after every run.
 */
class BenchProtocol(
    val warmupRuns: Int,
    val runs: Int,
    private val nanoTime: () -> Long = System::nanoTime,
) {
    init {
        require(runs >= 1) { "runs must be at least 1" }
        require(warmupRuns >= 0) { "warm-up runs must be 0 or more" }
    }

    fun measure(
        init: () -> Unit,
        load: () -> BenchSession,
        memory: PeakMemory = PeakMemory(),
    ): Timings {
        var t = nanoTime()
        init()
        val initMs = ms(t)
        memory.reset()
        t = nanoTime()
        val session = load()
        val loadMs = ms(t)
        memory.sample()
        session.use { s ->
            t = nanoTime()
            s.infer(0)
            val firstMs = ms(t)
            memory.sample()
            for (i in 0 until warmupRuns) s.infer(i + 1)
            val runsMs =
                DoubleArray(runs) { i ->
                    val start = nanoTime()
                    s.infer(i)
                    val elapsed = ms(start)
                    memory.sample()
                    elapsed
                }
            return Timings(initMs, loadMs, firstMs, runsMs, memory.result())
        }
    }

    private fun ms(start: Long): Double = (nanoTime() - start) / 1e6
}
