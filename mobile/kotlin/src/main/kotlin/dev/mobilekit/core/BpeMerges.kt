package dev.mobilekit.core

/**
 * BPE merges as Hugging Face stores them: (left id, right id) -> (rank, merged id). One copy
 * for the shipped word-level tokenizer and the tokenizer.json one.
 */
class BpeMerges {
    private val table = HashMap<Long, Pair<Int, Int>>()

    /** A pair listed twice keeps its last rank, as HF's `collect()` of the merges into a map does. */
    fun add(
        left: Int,
        right: Int,
        rank: Int,
        merged: Int,
    ) {
        table[key(left, right)] = rank to merged
    }

    /** Merges the lowest-ranked adjacent pair (leftmost first) in place until none applies. */
    fun apply(ids: MutableList<Int>) {
        while (ids.size > 1) {
            var best = -1
            var bestRank = Int.MAX_VALUE
            var bestId = 0
            for (i in 0 until ids.size - 1) {
                val m = table[key(ids[i], ids[i + 1])] ?: continue
                if (m.first < bestRank) {
                    bestRank = m.first
                    best = i
                    bestId = m.second
                }
            }
            if (best < 0) break
            ids[best] = bestId
            ids.removeAt(best + 1)
        }
    }

    private fun key(
        a: Int,
        b: Int,
    ): Long = (a.toLong() shl 32) or (b.toLong() and 0xFFFFFFFFL)
}
