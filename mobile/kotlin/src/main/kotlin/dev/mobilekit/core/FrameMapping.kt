package dev.mobilekit.core

import kotlin.math.max
import kotlin.math.min
import kotlin.math.roundToInt

/** A rectangle of whole pixels of the upright camera frame. */
data class CropRegion(
    val x: Int,
    val y: Int,
    val width: Int,
    val height: Int,
) {
    init {
        require(width >= 1 && height >= 1) { "empty crop region ${width}x$height" }
    }
}

/** A rectangle on screen (view pixels), e.g. the framing guide. */
data class ViewRect(
    val left: Float,
    val top: Float,
    val width: Float,
    val height: Float,
)

/**
 * Which part of a camera frame the model sees, and where that part is on screen.
 *
 * The preview fills its view and crops the frame ("fill center"), so the model's crop is chosen
 * inside the part of the frame the user actually sees: the guide box drawn from [toView] is then
 * exactly what is classified, whatever the frame, view and model aspect ratios.
 */
object FrameMapping {
    /** Width and height of a sensor frame after turning it upright by [rotationDegrees]. */
    fun uprightSize(
        width: Int,
        height: Int,
        rotationDegrees: Int,
    ): Pair<Int, Int> = if (normalized(rotationDegrees) % 180 == 90) height to width else width to height

    /** The largest centered region of a [frameWidth] x [frameHeight] frame with the model's aspect ratio. */
    fun centerCrop(
        frameWidth: Int,
        frameHeight: Int,
        modelWidth: Int,
        modelHeight: Int,
    ): CropRegion {
        val cropW: Int
        val cropH: Int
        if (frameWidth.toLong() * modelHeight > frameHeight.toLong() * modelWidth) {
            cropH = frameHeight
            cropW = max(1, (frameHeight.toLong() * modelWidth / modelHeight).toInt())
        } else {
            cropW = frameWidth
            cropH = max(1, (frameWidth.toLong() * modelHeight / modelWidth).toInt())
        }
        return CropRegion((frameWidth - cropW) / 2, (frameHeight - cropH) / 2, cropW, cropH)
    }

    /** The part of the upright frame a fill-center preview of [viewWidth] x [viewHeight] shows. */
    fun visibleRegion(
        frameWidth: Int,
        frameHeight: Int,
        viewWidth: Int,
        viewHeight: Int,
    ): CropRegion {
        if (viewWidth <= 0 || viewHeight <= 0) return CropRegion(0, 0, frameWidth, frameHeight)
        val scale = max(viewWidth.toDouble() / frameWidth, viewHeight.toDouble() / frameHeight)
        val w = min(frameWidth, max(1, (viewWidth / scale).roundToInt()))
        val h = min(frameHeight, max(1, (viewHeight / scale).roundToInt()))
        return CropRegion((frameWidth - w) / 2, (frameHeight - h) / 2, w, h)
    }

    /** What the model sees: its aspect ratio, centered in the visible part of the frame. */
    fun modelRegion(
        frameWidth: Int,
        frameHeight: Int,
        viewWidth: Int,
        viewHeight: Int,
        modelWidth: Int,
        modelHeight: Int,
    ): CropRegion {
        val visible = visibleRegion(frameWidth, frameHeight, viewWidth, viewHeight)
        val c = centerCrop(visible.width, visible.height, modelWidth, modelHeight)
        return CropRegion(visible.x + c.x, visible.y + c.y, c.width, c.height)
    }

    /** Where [region] of the upright frame appears in a fill-center view: the framing guide. */
    fun toView(
        region: CropRegion,
        frameWidth: Int,
        frameHeight: Int,
        viewWidth: Int,
        viewHeight: Int,
    ): ViewRect {
        val scale = max(viewWidth.toDouble() / frameWidth, viewHeight.toDouble() / frameHeight)
        val dx = (viewWidth - frameWidth * scale) / 2
        val dy = (viewHeight - frameHeight * scale) / 2
        return ViewRect(
            (region.x * scale + dx).toFloat(),
            (region.y * scale + dy).toFloat(),
            (region.width * scale).toFloat(),
            (region.height * scale).toFloat(),
        )
    }

    /**
     * The index in a row-major sensor frame of upright pixel ([u], [v]); CameraX's
     * `rotationDegrees` is the clockwise turn that makes the sensor frame upright.
     */
    fun sensorIndex(
        u: Int,
        v: Int,
        width: Int,
        height: Int,
        rotationDegrees: Int,
    ): Int =
        when (normalized(rotationDegrees)) {
            0 -> v * width + u
            90 -> (height - 1 - u) * width + v
            180 -> (height - 1 - v) * width + (width - 1 - u)
            else -> u * width + (width - 1 - v)
        }

    fun normalized(rotationDegrees: Int): Int {
        val r = ((rotationDegrees % 360) + 360) % 360
        require(r % 90 == 0) { "rotation must be a multiple of 90 degrees, got $rotationDegrees" }
        return r
    }
}
