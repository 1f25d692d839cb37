package dev.mobilekit.demo

import androidx.camera.core.ImageProxy
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.CropRegion
import dev.mobilekit.core.FrameMapping
import dev.mobilekit.core.FramePlan
import dev.mobilekit.core.ImagePreprocessor
import dev.mobilekit.core.Prediction
import dev.mobilekit.core.TopK
import dev.mobilekit.core.rewound

/** One classified frame: the top labels, where the time went, and which part of the frame was classified. */
data class Classification(
    val top: List<Prediction>,
    val preprocessMs: Double,
    val inferenceMs: Double,
    val plan: FramePlan,
)

/**
 * One TFLite artifact of an image-classification bundle, fed as the manifest says (input size,
 * layout, normalization), labels from the manifest's labels file.
 *
 * Made, run and closed on its [dev.mobilekit.core.ModelWorker] thread (the camera analyzer runs
 * there). Each frame is read straight from CameraX's RGBA buffer into one reused float array and
 * one reused input buffer: no bitmap, rotated copy or pixel array per frame.
 */
class ImageClassifier(
    bundle: AssetBundle,
    val artifact: Artifact,
    preferGpu: Boolean,
) : AutoCloseable {
    private val manifest = bundle.manifest
    private val preprocessor = ImagePreprocessor.forArtifact(manifest, artifact)
    private val labels =
        manifest.outputs
            .first()
            .labels
            ?.let { TopK.parseLabels(bundle.text(it)) } ?: emptyList()
    private val inputName =
        manifest.inputs
            .first { it.preprocessing != null }
            .name
            .let { n -> artifact.inputs.firstOrNull { it.name == n }?.tensor ?: n }
    private val outputName = artifact.outputs.firstOrNull()?.tensor ?: manifest.outputs.first().name
    private val floats = FloatArray(preprocessor.size)

    // One inference on a blank input while loading: a GPU delegate that builds but cannot run falls back to the CPU here.
    private val model = LiteRtModel.create(bundle.model(artifact.path), preferGpu) { m -> warmUp(m) }
    private val inputTensor = model.inputTensor(inputName)
    private val outputTensor = model.outputTensor(outputName)
    private val input = model.bufferFor(inputName)
    private val output = model.bufferFor(outputName, output = true)

    val backend: String get() = model.backend
    val modelWidth: Int get() = preprocessor.width
    val modelHeight: Int get() = preprocessor.height

    /** Classifies the part of [image] the framing guide shows on a preview of [viewWidth] x [viewHeight]. */
    fun classify(
        image: ImageProxy,
        viewWidth: Int,
        viewHeight: Int,
        k: Int = 3,
    ): Classification {
        val t0 = System.nanoTime()
        val plane = image.planes[0]
        require(plane.pixelStride == 4) { "expected RGBA_8888 frames (4 bytes a pixel), got a pixel stride of ${plane.pixelStride}" }
        val rotation = image.imageInfo.rotationDegrees
        val rect = image.cropRect
        val crop = if (rect.width() > 0 && rect.height() > 0) CropRegion(rect.left, rect.top, rect.width(), rect.height()) else null
        val plan = FrameMapping.plan(image.width, image.height, rotation, crop, viewWidth, viewHeight, preprocessor.width, preprocessor.height)
        preprocessor.processRgba(plane.buffer, image.width, image.height, plane.rowStride, rotation, plan.region, floats)
        val q = inputTensor.quantizationParams()
        LiteRtModel.putFloats(input, floats, inputTensor.dataType(), q.scale, q.zeroPoint)
        val t1 = System.nanoTime()
        val scores = infer()
        val t2 = System.nanoTime()
        return Classification(TopK.of(scores, k, labels), (t1 - t0) / 1e6, (t2 - t1) / 1e6, plan)
    }

    private fun infer(): FloatArray {
        model.run(mapOf(inputName to input.rewound()), mapOf(outputName to output.rewound()))
        val oq = outputTensor.quantizationParams()
        return LiteRtModel.getFloats(output, outputTensor.numElements(), outputTensor.dataType(), oq.scale, oq.zeroPoint)
    }

    /** A blank inference with buffers of its own (the model is not this object's yet). */
    private fun warmUp(m: LiteRtModel) {
        m.run(mapOf(inputName to m.bufferFor(inputName)), mapOf(outputName to m.bufferFor(outputName, output = true)))
    }

    override fun close() = model.close()
}
