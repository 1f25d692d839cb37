package dev.mobilekit.demo

import dev.mobilekit.core.ImagePreprocessor
import dev.mobilekit.core.Prediction
import dev.mobilekit.core.TopK

/** One classified frame: the top labels and where the time went. */
data class Classification(
    val top: List<Prediction>,
    val preprocessMs: Double,
    val inferenceMs: Double,
)

/**
 * The bundle's TFLite classifier: the preferred usable artifact, fed as the manifest says
 * (input size, layout, normalization), labels from the manifest's labels file. Not thread-safe:
 * the camera analyzer calls it from one background thread.
 */
class ImageClassifier(
    bundle: AssetBundle,
    preferGpu: Boolean,
) : AutoCloseable {
    private val manifest = bundle.manifest
    val artifact = manifest.artifact("tflite")
    private val model = LiteRtModel.create(bundle.model(artifact.path), preferGpu)
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
    private val inputTensor = model.inputTensor(inputName)
    private val outputTensor = model.outputTensor(outputName)
    private val input = model.bufferFor(inputName)
    private val output = model.bufferFor(outputName, output = true)
    private val floats = FloatArray(preprocessor.size)

    val backend: String get() = model.backend
    val description: String get() = "${manifest.name} ${artifact.variant} (${artifact.path}) on $backend"

    fun classify(
        argb: IntArray,
        width: Int,
        height: Int,
        k: Int = 3,
    ): Classification {
        val t0 = System.nanoTime()
        preprocessor.process(argb, width, height, floats)
        val q = inputTensor.quantizationParams()
        LiteRtModel.putFloats(input, floats, inputTensor.dataType(), q.scale, q.zeroPoint)
        output.rewound()
        val t1 = System.nanoTime()
        model.run(mapOf(inputName to input), mapOf(outputName to output))
        val t2 = System.nanoTime()
        val oq = outputTensor.quantizationParams()
        val scores = LiteRtModel.getFloats(output, outputTensor.numElements(), outputTensor.dataType(), oq.scale, oq.zeroPoint)
        return Classification(TopK.of(scores, k, labels), (t1 - t0) / 1e6, (t2 - t1) / 1e6)
    }

    override fun close() = model.close()
}
