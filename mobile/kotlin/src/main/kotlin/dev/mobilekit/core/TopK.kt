package dev.mobilekit.core

import kotlin.math.exp

/** One ranked class: its index, label, raw score and softmax probability. */
data class Prediction(
    val index: Int,
    val label: String,
    val score: Float,
    val probability: Float,
)

object TopK {
    /** The [k] highest [scores], best first; equal scores keep the lower index first (as argmax). */
    fun of(
        scores: FloatArray,
        k: Int,
        labels: List<String> = emptyList(),
    ): List<Prediction> {
        require(scores.isNotEmpty()) { "no scores" }
        val max = scores.max()
        var sum = 0.0
        for (s in scores) sum += exp((s - max).toDouble())
        val order = scores.indices.sortedWith(compareByDescending<Int> { scores[it] }.thenBy { it })
        return order.take(k).map { i ->
            Prediction(i, labels.getOrNull(i) ?: i.toString(), scores[i], (exp((scores[i] - max).toDouble()) / sum).toFloat())
        }
    }

    /** Labels from a `labels.txt`: one a line, blank trailing lines dropped. */
    fun parseLabels(text: String): List<String> = text.lines().map { it.trimEnd('\r') }.dropLastWhile { it.isEmpty() }
}
