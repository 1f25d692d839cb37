package dev.mobilekit.demo

import androidx.camera.core.ImageProxy
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.CropRegion
import dev.mobilekit.core.FrameMapping
import dev.mobilekit.core.FramePlan
import dev.mobilekit.core.ImagePreprocessor
import dev.mobilekit.core.ManifestException
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
 * One artifact of an image-classification bundle, LiteRT (`.tflite`) or ExecuTorch (`.pte`), fed
 * as the manifest says (input size, layout, normalization), labels from the manifest's labels file.
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
    private val imageName = manifest.inputs.first { it.preprocessing != null }.name
    private val floats = FloatArray(preprocessor.size)
    private val engine: ClassifierEngine =
        when (artifact.target) {
            "tflite" -> LiteRtClassifier(bundle, artifact, imageName, preferGpu)
            "executorch" -> ExecuTorchClassifier(bundle, artifact, imageName, floats.size)
            else -> throw ManifestException("the Camera screen runs LiteRT and ExecuTorch artifacts, not ${artifact.label}")
        }

    val backend: String get() = engine.backend
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
        engine.feed(floats)
        val t1 = System.nanoTime()
        val scores = engine.infer()
        val t2 = System.nanoTime()
        return Classification(TopK.of(scores, k, labels), (t1 - t0) / 1e6, (t2 - t1) / 1e6, plan)
    }

    override fun close() = engine.close()
}

/** One runtime's model behind the Camera screen: the preprocessed image in, scores out. */
private interface ClassifierEngine : AutoCloseable {
    val backend: String

    /** Writes the preprocessed image into the model's input (quantizing it when the input is int8). */
    fun feed(values: FloatArray)

    fun infer(): FloatArray
}

/** A `.tflite` on the GPU delegate when it builds and runs, else the CPU with XNNPACK. */
private class LiteRtClassifier(
    bundle: AssetBundle,
    artifact: Artifact,
    imageName: String,
    preferGpu: Boolean,
) : ClassifierEngine {
    private val inputName = artifact.inputs.firstOrNull { it.name == imageName }?.tensor ?: imageName
    private val outputName =
        artifact.outputs.firstOrNull()?.tensor ?: bundle.manifest.outputs
            .first()
            .name

    // One inference on a blank input while loading: a GPU delegate that builds but cannot run falls back to the CPU here.
    private val model = LiteRtModel.create(bundle.model(artifact.path), preferGpu) { m -> warmUp(m) }
    private val inputTensor = model.inputTensor(inputName)
    private val outputTensor = model.outputTensor(outputName)
    private val input = model.bufferFor(inputName)
    private val output = model.bufferFor(outputName, output = true)

    override val backend: String get() = model.backend

    override fun feed(values: FloatArray) {
        val q = inputTensor.quantizationParams()
        LiteRtModel.putFloats(input, values, inputTensor.dataType(), q.scale, q.zeroPoint)
    }

    override fun infer(): FloatArray {
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

/** A `.pte` (XNNPACK fp32 / fp16 / int8) from its copy in the app's files, on the CPU. */
private class ExecuTorchClassifier(
    bundle: AssetBundle,
    artifact: Artifact,
    imageName: String,
    size: Int,
) : ClassifierEngine {
    private val module = ExecuTorchPrograms.load(bundle.modelFile(artifact), artifact, THREADS)
    private val model =
        try {
            ExecuTorchImageModel(module, artifact, imageName).also { it.infer(FloatArray(size)) } // warm-up, as for LiteRT
        } catch (e: Throwable) {
            module.destroy() // a failed load leaves nothing open behind it
            throw e
        }
    private var image = FloatArray(size)

    override val backend: String = ExecuTorchPrograms.backend(THREADS)

    override fun feed(values: FloatArray) {
        image = values
    }

    override fun infer(): FloatArray = model.infer(image)

    override fun close() = model.close()

    companion object {
        const val THREADS = 4
    }
}
