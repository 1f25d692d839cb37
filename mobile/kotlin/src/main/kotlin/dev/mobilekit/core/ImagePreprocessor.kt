package dev.mobilekit.core

import java.nio.ByteBuffer

/**
 * Pixel (u, v) of an upright image as ARGB. A fun interface, not a `(Int, Int) -> Int` lambda:
 * a generic function type boxes both coordinates and the result on every call, which on ART
 * (no escape analysis) is about 1.5 MB of garbage per 224x224 frame.
 */
fun interface PixelSource {
    fun argb(
        u: Int,
        v: Int,
    ): Int
}

/**
 * Camera pixels to a model input: a crop region of the upright frame (see [FrameMapping]) is
 * resized bilinearly to the model's input size, normalized as the manifest says (x = (p * scale - mean) / std, in float32 like the Python side) and laid out NCHW or NHWC.
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

    /** Center-crops a whole ARGB frame to the model's aspect ratio (golden pixels, stills). */
    fun process(
        argb: IntArray,
        srcWidth: Int,
        srcHeight: Int,
        out: FloatArray = FloatArray(size),
    ): FloatArray {
        require(argb.size >= srcWidth * srcHeight) { "pixel array smaller than $srcWidth x $srcHeight" }
        return process(PixelSource { u, v -> argb[v * srcWidth + u] }, FrameMapping.centerCrop(srcWidth, srcHeight, width, height), out)
    }

    /**
     * A camera frame as CameraX gives it (RGBA_8888, [rowStride] bytes a row, sensor orientation):
     * the [crop] of the upright frame (see [FrameMapping.modelRegion]) is read straight from the
     * buffer, so no bitmap, rotated copy or pixel array is made per frame.
     */
    fun processRgba(
        rgba: ByteBuffer,
        frameWidth: Int,
        frameHeight: Int,
        rowStride: Int,
        rotationDegrees: Int,
        crop: CropRegion,
        out: FloatArray = FloatArray(size),
    ): FloatArray {
        require(rowStride >= frameWidth * 4) { "row stride $rowStride is too small for $frameWidth RGBA pixels" }
        require(rgba.limit() >= (frameHeight - 1) * rowStride + frameWidth * 4) { "RGBA buffer smaller than the frame" }
        val (uprightW, uprightH) = FrameMapping.uprightSize(frameWidth, frameHeight, rotationDegrees)
        require(crop.x + crop.width <= uprightW && crop.y + crop.height <= uprightH) { "crop $crop outside the ${uprightW}x$uprightH frame" }
        return process(
            PixelSource { u, v ->
                val i = FrameMapping.sensorIndex(u, v, frameWidth, frameHeight, rotationDegrees)
                val at = (i / frameWidth) * rowStride + (i % frameWidth) * 4
                (0xFF shl 24) or ((rgba.get(at).toInt() and 0xFF) shl 16) or ((rgba.get(at + 1).toInt() and 0xFF) shl 8) or
                    (rgba.get(at + 2).toInt() and 0xFF)
            },
            crop,
            out,
        )
    }

    /** [crop] of an upright image whose pixel (u, v) is `pixel.argb(u, v)`, resized, normalized, laid out. */
    fun process(
        pixel: PixelSource,
        crop: CropRegion,
        out: FloatArray = FloatArray(size),
    ): FloatArray {
        require(out.size == size) { "output must hold $size floats" }
        val rgb = FloatArray(3)
        for (y in 0 until height) {
            for (x in 0 until width) {
                if (crop.width == width && crop.height == height) {
                    unpack(pixel.argb(crop.x + x, crop.y + y), rgb)
                } else {
                    sample(pixel, crop, x, y, rgb)
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
        pixel: PixelSource,
        crop: CropRegion,
        x: Int,
        y: Int,
        rgb: FloatArray,
    ) {
        val sx = ((x + 0.5f) * crop.width / width - 0.5f).coerceIn(0f, (crop.width - 1).toFloat())
        val sy = ((y + 0.5f) * crop.height / height - 0.5f).coerceIn(0f, (crop.height - 1).toFloat())
        val ix = sx.toInt()
        val iy = sy.toInt()
        val jx = minOf(ix + 1, crop.width - 1)
        val jy = minOf(iy + 1, crop.height - 1)
        val fx = sx - ix
        val fy = sy - iy
        val p00 = pixel.argb(crop.x + ix, crop.y + iy)
        val p01 = pixel.argb(crop.x + jx, crop.y + iy)
        val p10 = pixel.argb(crop.x + ix, crop.y + jy)
        val p11 = pixel.argb(crop.x + jx, crop.y + jy)
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
