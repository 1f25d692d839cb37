package dev.mobilekit.core

import kotlin.math.floor
import kotlin.math.sqrt

/** Latency summary in milliseconds. */
data class LatencySummary(
    val count: Int,
    val mean: Double,
    val p50: Double,
    val p90: Double,
    val min: Double,
    val max: Double,
)

/** Latency statistics in milliseconds, computed exactly as mobilekit's host benchmark does. */
data class Latency(
    val min: Double,
    val mean: Double,
    val std: Double,
    val p50: Double,
    val p90: Double,
    val p95: Double,
    val p99: Double,
    val max: Double,
) {
    fun toMap(): Map<String, Any?> =
        linkedMapOf(
            "min" to min,
            "mean" to mean,
            "std" to std,
            "p50" to p50,
            "p90" to p90,
            "p95" to p95,
            "p99" to p99,
            "max" to max,
        )
}

/** The statistics of mobilekit's host benchmark (numpy percentiles), shared by the apps and the harness. */
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

    /** Min, mean, population standard deviation, p50/p90/p95/p99 and max of [runsMs]. */
    fun latency(runsMs: DoubleArray): Latency {
        require(runsMs.isNotEmpty()) { "no runs" }
        val sorted = runsMs.sortedArray()
        val mean = runsMs.sum() / runsMs.size
        var squares = 0.0
        for (v in runsMs) squares += (v - mean) * (v - mean)
        return Latency(
            min = sorted.first(),
            mean = mean,
            std = sqrt(squares / runsMs.size),
            p50 = percentile(sorted, 50.0),
            p90 = percentile(sorted, 90.0),
            p95 = percentile(sorted, 95.0),
            p99 = percentile(sorted, 99.0),
            max = sorted.last(),
        )
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
