package dev.mobilekit.bench

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.CachedSeq2SeqRunner
import dev.mobilekit.core.ModelChoice
import dev.mobilekit.core.Seq2SeqRunner
import dev.mobilekit.core.TensorData
import dev.mobilekit.core.TensorModel
import dev.mobilekit.core.TranslationConfig
import dev.mobilekit.core.rewound
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Delegate
import org.tensorflow.lite.Interpreter
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * One encoder/decoder pair of a translation bundle (a [ModelChoice]: the pair the SDK verified
 * together, never mixed) on one runtime configuration. [load] gives the core's
 * [CachedSeq2SeqRunner], which feeds ids in the manifest's dtypes and the KV cache back each step;
 * the core's TranslationBench times every decoder step over the golden sentences. Runtimes:
 * LiteRT, ONNX Runtime and ExecuTorch (ExecuTorchBackend.kt: positional inputs in the manifest's order).
 */
class Seq2SeqBackend(
    private val files: Map<String, File>,
    private val choice: ModelChoice,
    private val config: TranslationConfig,
    val runtime: String,
    /** LiteRT: xnnpack, gpu, nnapi; ONNX Runtime: cpu, nnapi; ExecuTorch: xnnpack. */
    val how: String,
    threads: Int,
) {
    val backend: String = if (how == "xnnpack" || how == "cpu") "cpu" else how
    val delegate: String? =
        when {
            runtime == "onnxruntime" -> if (how == "nnapi") "NnapiExecutionProvider" else "CPUExecutionProvider"
            else -> how
        }
    val threads: Int? = if (backend == "cpu" || runtime == "onnxruntime") threads else null

    /** Checks the configuration can run here (throws [Unsupported]); runtimes are set up per model in [load]. */
    fun init() {
        if (runtime == "executorch") {
            val program = choice.artifacts.values.firstOrNull { !ExecuTorchPrograms.runsOnAndroid(it) }
            if (program != null) throw Unsupported("${program.label} uses the Core ML delegate, which runs only on Apple platforms")
        } else if (runtime == "litert") {
            val probe = mutableListOf<Delegate>()
            try {
                LiteRtOptions.make(how, threads, probe)
            } finally {
                for (d in probe) (d as? AutoCloseable)?.close()
            }
        } else {
            OrtOptions.make(how, threads).close()
        }
    }

    fun load(): Seq2SeqRunner {
        val encoder = model(choice.artifact("encoder"))
        val decoder =
            try {
                model(choice.artifact("decoder"))
            } catch (e: Throwable) {
                encoder.close()
                throw e
            }
        return CachedSeq2SeqRunner(encoder, decoder, config)
    }

    private fun model(artifact: Artifact): TensorModel {
        val file = files.getValue(artifact.path)
        return if (runtime == "executorch") {
            ExecuTorchTensorModel(ExecuTorchPrograms.load(file, threads), artifact)
        } else if (runtime == "litert") {
            // One delegate per interpreter: a GPU delegate is not shared between models.
            val delegates = mutableListOf<Delegate>()
            val options = LiteRtOptions.make(how, threads, delegates)
            LiteRtTensorModel(Interpreter(file, options), artifact, delegates)
        } else {
            val env = OrtEnvironment.getEnvironment()
            val options = OrtOptions.make(how, threads)
            OrtTensorModel(env, env.createSession(file.absolutePath, options), options, artifact)
        }
    }
}

/** A LiteRT interpreter behind the core's [TensorModel]: manifest names to signature names, buffers reused. */
private class LiteRtTensorModel(
    private val interpreter: Interpreter,
    private val artifact: Artifact,
    private val delegates: List<Delegate>,
) : TensorModel {
    private val key: String = interpreter.signatureKeys.firstOrNull() ?: throw IllegalStateException("the model has no signature")
    private val inputs = artifact.inputs.associate { it.name to buffer(interpreter.getInputTensorFromSignature(it.tensor, key).numBytes()) }
    private val outputs = artifact.outputs.associate { it.name to buffer(interpreter.getOutputTensorFromSignature(it.tensor, key).numBytes()) }

    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val feeds = HashMap<String, Any>()
        for (ref in artifact.inputs) {
            val data = inputs[ref.name] ?: throw IllegalArgumentException("no value for input '${ref.name}'")
            val buffer = this.inputs.getValue(ref.name).rewound()
            when (interpreter.getInputTensorFromSignature(ref.tensor, key).dataType()) {
                DataType.FLOAT32 -> buffer.asFloatBuffer().put(data.asFloats())
                DataType.INT32 -> buffer.asIntBuffer().put(data.ints ?: IntArray(data.count) { data.longs!![it].toInt() })
                DataType.INT64 -> buffer.asLongBuffer().put(data.longs ?: LongArray(data.count) { data.ints!![it].toLong() })
                else -> throw IllegalArgumentException("unsupported input type for '${ref.name}'")
            }
            feeds[ref.tensor] = buffer.rewound()
        }
        val outs = HashMap<String, Any>()
        for (ref in artifact.outputs) outs[ref.tensor] = outputs.getValue(ref.name).rewound()
        interpreter.runSignature(feeds, outs, key)
        return artifact.outputs.associate { ref ->
            val tensor = interpreter.getOutputTensorFromSignature(ref.tensor, key)
            val buffer = outputs.getValue(ref.name).rewound()
            val values = FloatArray(tensor.numElements())
            val q = tensor.quantizationParams()
            when (tensor.dataType()) {
                DataType.FLOAT32 -> buffer.asFloatBuffer().get(values)
                DataType.INT8 -> for (i in values.indices) values[i] = (buffer.get(i) - q.zeroPoint) * q.scale
                DataType.UINT8 -> for (i in values.indices) values[i] = ((buffer.get(i).toInt() and 0xFF) - q.zeroPoint) * q.scale
                else -> throw IllegalArgumentException("unsupported output type for '${ref.name}'")
            }
            ref.name to TensorData.f32(values, tensor.shape())
        }
    }

    override fun close() {
        interpreter.close()
        for (d in delegates) (d as? AutoCloseable)?.close()
    }

    private fun buffer(bytes: Int): ByteBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())
}

/** An ONNX Runtime session behind the core's [TensorModel]: inputs in the manifest's dtypes (int32 stays int32). */
private class OrtTensorModel(
    private val env: OrtEnvironment,
    private val session: OrtSession,
    private val options: OrtSession.SessionOptions,
    private val artifact: Artifact,
) : TensorModel {
    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val feeds = LinkedHashMap<String, OnnxTensor>()
        try {
            for (ref in artifact.inputs) {
                val data = inputs[ref.name] ?: throw IllegalArgumentException("no value for input '${ref.name}'")
                val longs = { data.longs ?: LongArray(data.count) { data.ints!![it].toLong() } }
                feeds[ref.tensor] = OrtOptions.tensor(env, { data.asFloats() }, longs, data.dtype, data.shape)
            }
            session.run(feeds).use { result ->
                return artifact.outputs.associate { ref ->
                    val value = result.get(ref.tensor).orElseThrow { IllegalStateException("no output '${ref.tensor}'") } as OnnxTensor
                    val floats = value.floatBuffer
                    val values = FloatArray(floats.remaining()).also { floats.get(it) }
                    ref.name to
                        TensorData.f32(
                            values,
                            value.info.shape
                                .map { it.toInt() }
                                .toIntArray(),
                        )
                }
            }
        } finally {
            for (t in feeds.values) t.close()
        }
    }

    override fun close() {
        session.close()
        options.close()
    }
}
