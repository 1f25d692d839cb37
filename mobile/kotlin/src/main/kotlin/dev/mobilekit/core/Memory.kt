package dev.mobilekit.core

import java.io.File

/** Peak memory around load + runs, as mobilekit's host benchmark measures it. */
data class MemoryResult(
    val peakDeltaBytes: Long?,
    val baselineBytes: Long?,
    val peakBytes: Long?,
    val method: String,
) {
    fun toMap(): Map<String, Any?> =
        linkedMapOf(
            "peak_delta_bytes" to peakDeltaBytes,
            "baseline_bytes" to baselineBytes,
            "peak_bytes" to peakBytes,
            "method" to method,
        )
}

/**
 * Linux (and so Android) process memory from /proc/self/status.
 *
 * [reset] clears the peak-RSS high-water mark (VmHWM) through /proc/self/clear_refs when the
 * kernel allows it and records the RSS before load; [sample] is called after load and every run;
 * [result] is max(VmHWM, sampled RSS) minus the RSS before load.
 */
class PeakMemory(
    private val status: File = File("/proc/self/status"),
    private val clearRefs: File = File("/proc/self/clear_refs"),
) {
    private var hwmReset = false
    private var baseline: Long? = null
    private var sampled: Long? = null

    fun reset() {
        hwmReset =
            try {
                clearRefs.writeText("5")
                field("VmHWM:") != null
            } catch (e: Exception) {
                false
            }
        baseline = field("VmRSS:")
        sampled = baseline
    }

    fun sample() {
        val rss = field("VmRSS:") ?: return
        val s = sampled
        if (s == null || rss > s) sampled = rss
    }

    fun result(): MemoryResult {
        sample()
        val base = baseline
        var peak = sampled
        if (hwmReset) {
            val hwm = field("VmHWM:")
            if (hwm != null && (peak == null || hwm > peak)) peak = hwm
        }
        val method =
            if (hwmReset) {
                "VmHWM (peak RSS, reset via /proc/self/clear_refs right before load) read after the last run, " +
                    "floored by VmRSS sampled after load and every run; minus VmRSS before load"
            } else {
                "max VmRSS sampled after load and after every run, minus VmRSS before load (a lower bound)"
            }
        val delta = if (peak != null && base != null) peak - base else null
        return MemoryResult(delta, base, peak, method)
    }

    private fun field(name: String): Long? =
        try {
            status
                .readLines()
                .firstOrNull { it.startsWith(name) }
                ?.substringAfter(':')
                ?.trim()
                ?.split(Regex("\\s+"))
                ?.firstOrNull()
                ?.toLongOrNull()
                ?.times(1024)
        } catch (e: Exception) {
            null
        }
}
