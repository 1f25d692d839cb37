package dev.mobilekit.core

import kotlin.math.roundToInt

/** Layout and integer conversions of the golden inputs (NCHW float32 as torch sees them). */
object Tensors {
    /** NCHW → NHWC for a 4-D [shape]; other ranks are returned unchanged. */
    fun nchwToNhwc(
        x: FloatArray,
        shape: IntArray,
    ): FloatArray {
        if (shape.size != 4) return x
        val (n, c, h, w) = shape.toList()
        val out = FloatArray(x.size)
        for (b in 0 until n) {
            for (ch in 0 until c) {
                for (y in 0 until h) {
                    for (xx in 0 until w) {
                        out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx]
                    }
                }
            }
        }
        return out
    }

    /** The shape an NCHW [shape] has in NHWC. */
    fun nhwcShape(shape: IntArray): IntArray = if (shape.size == 4) intArrayOf(shape[0], shape[2], shape[3], shape[1]) else shape

    /** Affine quantization: round(x / scale + zeroPoint), clamped to [[lo], [hi]]. */
    fun quantize(
        x: FloatArray,
        scale: Float,
        zeroPoint: Int,
        lo: Int,
        hi: Int,
    ): IntArray =
        IntArray(x.size) { i ->
            val q = (x[i] / scale).roundToInt() + zeroPoint
            q.coerceIn(lo, hi)
        }
}
