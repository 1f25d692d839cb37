package dev.mobilekit.core

/**
 * Camera pixels to a model input: ARGB ints (as `Bitmap.getPixels` gives them) are center-cropped
 * to the model's aspect ratio, resized bilinearly to its input size, normalized as the manifest
 * says (x = (p * scale - mean) / std, in float32 like the Python side) and laid out NCHW or NHWC.
 */
class ImagePreprocessor(
    val width: Int,
    val height: Int,
    val layout: String,
    private val pre: Preprocessing,
) {
    init {
        require(layout == "NCHW" || layout == "NHWC") { "unsupported image layout '$layout'" }
        require(pre.mean.size == 3 && pre.std.size == 3) { "preprocessing needs 3 means and 3 stds" }
    }

    val size: Int get() = 3 * width * height

    fun process(
        argb: IntArray,
        srcWidth: Int,
        srcHeight: Int,
        out: FloatArray = FloatArray(size),
    ): FloatArray {
        require(argb.size >= srcWidth * srcHeight) { "pixel array smaller than $srcWidth x $srcHeight" }
        require(out.size == size) { "output must hold $size floats" }
        // The largest centered region with the model's aspect ratio.
        val cropW: Int
        val cropH: Int
        if (srcWidth.toLong() * height > srcHeight.toLong() * width) {
            cropH = srcHeight
            cropW = maxOf(1, (srcHeight.toLong() * width / height).toInt())
        } else {
            cropW = srcWidth
            cropH = maxOf(1, (srcWidth.toLong() * height / width).toInt())
        }
        val x0 = (srcWidth - cropW) / 2
        val y0 = (srcHeight - cropH) / 2
        val rgb = FloatArray(3)
        for (y in 0 until height) {
            for (x in 0 until width) {
                if (cropW == width && cropH == height) {
                    unpack(argb[(y0 + y) * srcWidth + x0 + x], rgb)
                } else {
                    sample(argb, srcWidth, x0, y0, cropW, cropH, x, y, rgb)
                }
                for (c in 0 until 3) {
                    val channel = if (pre.color == "BGR") 2 - c else c
                    val v = (rgb[channel] * pre.scale - pre.mean[c]) / pre.std[c]
                    val index = if (layout == "NCHW") (c * height + y) * width + x else (y * width + x) * 3 + c
                    out[index] = v
                }
            }
        }
        return out
    }

    /** Bilinear sample with half-pixel centers (as OpenCV and PIL resize) of output pixel (x, y). */
    private fun sample(
        argb: IntArray,
        stride: Int,
        x0: Int,
        y0: Int,
        cropW: Int,
        cropH: Int,
        x: Int,
        y: Int,
        rgb: FloatArray,
    ) {
        val sx = ((x + 0.5f) * cropW / width - 0.5f).coerceIn(0f, (cropW - 1).toFloat())
        val sy = ((y + 0.5f) * cropH / height - 0.5f).coerceIn(0f, (cropH - 1).toFloat())
        val ix = sx.toInt()
        val iy = sy.toInt()
        val jx = minOf(ix + 1, cropW - 1)
        val jy = minOf(iy + 1, cropH - 1)
        val fx = sx - ix
        val fy = sy - iy
        val p00 = argb[(y0 + iy) * stride + x0 + ix]
        val p01 = argb[(y0 + iy) * stride + x0 + jx]
        val p10 = argb[(y0 + jy) * stride + x0 + ix]
        val p11 = argb[(y0 + jy) * stride + x0 + jx]
        for (c in 0 until 3) {
            val shift = 16 - 8 * c
            val top = channel(p00, shift) * (1 - fx) + channel(p01, shift) * fx
            val bottom = channel(p10, shift) * (1 - fx) + channel(p11, shift) * fx
            rgb[c] = top * (1 - fy) + bottom * fy
        }
    }

    private fun channel(
        pixel: Int,
        shift: Int,
    ): Float = ((pixel shr shift) and 0xFF).toFloat()

    private fun unpack(
        pixel: Int,
        rgb: FloatArray,
    ) {
        rgb[0] = channel(pixel, 16)
        rgb[1] = channel(pixel, 8)
        rgb[2] = channel(pixel, 0)
    }

    companion object {
        /** The preprocessor for [artifact]'s image input, sized and laid out as that file expects. */
        fun forArtifact(
            manifest: BundleManifest,
            artifact: Artifact,
        ): ImagePreprocessor {
            val spec =
                manifest.inputs.firstOrNull { it.preprocessing != null }
                    ?: throw ManifestException("bundle '${manifest.name}' has no image input with preprocessing")
            val ref = artifact.inputs.firstOrNull { it.name == spec.name }
            val layout = ref?.layout?.takeIf { it == "NCHW" || it == "NHWC" } ?: artifact.layout.takeIf { it == "NHWC" } ?: "NCHW"
            val shape = ref?.shape?.takeIf { it.size == 4 } ?: spec.shape
            if (shape.size != 4) throw ManifestException("image input '${spec.name}' is not 4-D")
            val (h, w) = if (layout == "NHWC" && ref?.shape?.size == 4) shape[1] to shape[2] else shape[2] to shape[3]
            return ImagePreprocessor(w, h, layout, spec.preprocessing!!)
        }

        /** Pack RGB bytes (H x W x 3, row-major) as ARGB ints, e.g. golden `pixels.*.npy`. */
        fun argbFromRgb(rgb: FloatArray): IntArray =
            IntArray(rgb.size / 3) { i ->
                val r = rgb[3 * i].toInt() and 0xFF
                val g = rgb[3 * i + 1].toInt() and 0xFF
                val b = rgb[3 * i + 2].toInt() and 0xFF
                (0xFF shl 24) or (r shl 16) or (g shl 8) or b
            }
    }
}
