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

/** One analysed frame's geometry: the upright frame, the part the preview shows, and the part the model sees. */
data class FramePlan(
    val uprightWidth: Int,
    val uprightHeight: Int,
    val visible: CropRegion,
    val region: CropRegion,
) {
    /** The framing guide: where [region] is drawn over a preview of [viewWidth] x [viewHeight] showing [visible]. */
    fun guide(
        viewWidth: Int,
        viewHeight: Int,
    ): ViewRect =
        FrameMapping.toView(
            CropRegion(region.x - visible.x, region.y - visible.y, region.width, region.height),
            visible.width,
            visible.height,
            viewWidth,
            viewHeight,
        )
}

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
     * The plan for one frame of [frameWidth] x [frameHeight] sensor pixels turned by
     * [rotationDegrees]. [sensorCrop] is CameraX's `ImageProxy.cropRect`: when the camera was bound
     * with the preview's ViewPort it is exactly the part the preview shows; when it is the whole
     * frame (no ViewPort), the shown part is worked out from the view's size (fill-center).
     */
    fun plan(
        frameWidth: Int,
        frameHeight: Int,
        rotationDegrees: Int,
        sensorCrop: CropRegion?,
        viewWidth: Int,
        viewHeight: Int,
        modelWidth: Int,
        modelHeight: Int,
    ): FramePlan {
        val (w, h) = uprightSize(frameWidth, frameHeight, rotationDegrees)
        val whole = sensorCrop == null || (sensorCrop.width >= frameWidth && sensorCrop.height >= frameHeight)
        val visible =
            if (whole) {
                visibleRegion(w, h, viewWidth, viewHeight)
            } else {
                uprightRect(clamp(sensorCrop, frameWidth, frameHeight), frameWidth, frameHeight, rotationDegrees)
            }
        val c = centerCrop(visible.width, visible.height, modelWidth, modelHeight)
        return FramePlan(w, h, visible, CropRegion(visible.x + c.x, visible.y + c.y, c.width, c.height))
    }

    /** [rect] of the sensor frame in the coordinates of the upright frame (see [sensorIndex]). */
    fun uprightRect(
        rect: CropRegion,
        frameWidth: Int,
        frameHeight: Int,
        rotationDegrees: Int,
    ): CropRegion =
        when (normalized(rotationDegrees)) {
            0 -> rect
            90 -> CropRegion(frameHeight - rect.y - rect.height, rect.x, rect.height, rect.width)
            180 -> CropRegion(frameWidth - rect.x - rect.width, frameHeight - rect.y - rect.height, rect.width, rect.height)
            else -> CropRegion(rect.y, frameWidth - rect.x - rect.width, rect.height, rect.width)
        }

    private fun clamp(
        r: CropRegion,
        width: Int,
        height: Int,
    ): CropRegion {
        val x = r.x.coerceIn(0, width - 1)
        val y = r.y.coerceIn(0, height - 1)
        return CropRegion(x, y, r.width.coerceIn(1, width - x), r.height.coerceIn(1, height - y))
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
