package dev.mobilekit.core

import kotlin.math.floor

/** Latency summary in milliseconds. */
data class LatencySummary(
    val count: Int,
    val mean: Double,
    val p50: Double,
    val p90: Double,
    val min: Double,
    val max: Double,
)

object Stats {
    /** Linear interpolation between closest ranks (numpy's default); [sorted] must be sorted. */
    fun percentile(
        sorted: DoubleArray,
        p: Double,
    ): Double {
        require(sorted.isNotEmpty()) { "no values" }
        val rank = (sorted.size - 1) * p / 100.0
        val lo = floor(rank).toInt()
        val hi = minOf(lo + 1, sorted.size - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
    }

    fun summarize(valuesMs: DoubleArray): LatencySummary {
        require(valuesMs.isNotEmpty()) { "no values" }
        val sorted = valuesMs.sortedArray()
        return LatencySummary(
            count = sorted.size,
            mean = valuesMs.sum() / valuesMs.size,
            p50 = percentile(sorted, 50.0),
            p90 = percentile(sorted, 90.0),
            min = sorted.first(),
            max = sorted.last(),
        )
    }
}

/** The last [capacity] latencies of a live loop (camera frames), summarized on demand. */
class LatencyWindow(
    private val capacity: Int = 100,
) {
    private val values = DoubleArray(capacity)
    private var count = 0
    private var next = 0

    @Synchronized
    fun add(ms: Double) {
        values[next] = ms
        next = (next + 1) % capacity
        if (count < capacity) count++
    }

    @Synchronized
    fun summary(): LatencySummary? = if (count == 0) null else Stats.summarize(values.copyOf(count))
}
