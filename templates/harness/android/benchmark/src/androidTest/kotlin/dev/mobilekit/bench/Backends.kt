package dev.mobilekit.bench

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.BenchSession
import dev.mobilekit.core.Golden
import dev.mobilekit.core.Tensors
import dev.mobilekit.core.rewound
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Delegate
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import org.tensorflow.lite.nnapi.NnApiDelegate
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.FloatBuffer
import java.nio.IntBuffer
import java.nio.LongBuffer

/** One runtime configuration of one artifact: [init] sets the runtime up, [load] reads the model. */
interface Backend {
    val runtime: String
    val backend: String
    val delegate: String?
    val threads: Int?

    fun init()

    fun load(): BenchSession
}

/** Thrown when this device cannot run a configuration (recorded as `unsupported`). */
class Unsupported(
    message: String,
) : Exception(message)

/** LiteRT interpreter options for one delegate configuration; delegates made are added to [delegates] (to be closed). */
object LiteRtOptions {
    fun make(
        delegate: String,
        threads: Int?,
        delegates: MutableList<Delegate>,
    ): Interpreter.Options {
        val o = Interpreter.Options().setNumThreads(threads ?: 1)
        when (delegate) {
            "xnnpack" -> {
                o.setUseXNNPACK(true)
            }

            "none" -> {
                o.setUseXNNPACK(false)
            }

            "gpu" -> {
                val compat = CompatibilityList()
                if (!compat.isDelegateSupportedOnThisDevice) throw Unsupported("the GPU delegate does not support this device")
                val d = GpuDelegate(compat.bestOptionsForThisDevice)
                delegates += d
                o.addDelegate(d)
            }

            "nnapi" -> {
                if (android.os.Build.VERSION.SDK_INT < 27) throw Unsupported("NNAPI needs Android 8.1 (API 27) or newer")
                val d = NnApiDelegate()
                delegates += d
                o.addDelegate(d)
            }

            else -> {
                throw IllegalArgumentException("unknown delegate $delegate")
            }
        }
        return o
    }
}

/** ONNX Runtime session options: intra-op [threads], and the NNAPI execution provider when asked. */
object OrtOptions {
    fun make(
        provider: String,
        threads: Int?,
    ): OrtSession.SessionOptions {
        if (provider == "nnapi" && android.os.Build.VERSION.SDK_INT < 27) throw Unsupported("NNAPI needs Android 8.1 (API 27) or newer")
        val o = OrtSession.SessionOptions()
        o.setIntraOpNumThreads(threads ?: 1)
        if (provider == "nnapi") o.addNnapi()
        return o
    }

    /** An ONNX Runtime tensor of [dtype] as the manifest declares it (int32 stays int32). */
    fun tensor(
        env: OrtEnvironment,
        floats: () -> FloatArray,
        longs: () -> LongArray,
        dtype: String,
        shape: IntArray,
    ): OnnxTensor {
        val dims = shape.map { it.toLong() }.toLongArray()
        return when (dtype) {
            "int32" -> OnnxTensor.createTensor(env, IntBuffer.wrap(longs().let { l -> IntArray(l.size) { l[it].toInt() } }), dims)
            "int64" -> OnnxTensor.createTensor(env, LongBuffer.wrap(longs()), dims)
            "float32" -> OnnxTensor.createTensor(env, FloatBuffer.wrap(floats()), dims)
            else -> throw IllegalArgumentException("unsupported ONNX input dtype $dtype")
        }
    }
}

/** LiteRT (TensorFlow Lite) with the CPU/XNNPACK, GPU or NNAPI delegate. */
class TfliteBackend(
    private val file: File,
    private val artifact: Artifact,
    private val golden: Golden,
    override val delegate: String,
    threads: Int,
) : Backend {
    override val runtime = "litert"
    override val backend = if (delegate == "xnnpack" || delegate == "none") "cpu" else delegate
    override val threads: Int? = if (backend == "cpu") threads else null
    private var options: Interpreter.Options? = null
    private val delegates = mutableListOf<Delegate>()

    override fun init() {
        options = LiteRtOptions.make(delegate, threads, delegates)
    }

    override fun load(): BenchSession {
        val interpreter = Interpreter(file, options ?: throw IllegalStateException("init() first"))
        return TfliteSession(interpreter, artifact, golden, delegates)
    }
}

private class TfliteSession(
    private val interpreter: Interpreter,
    artifact: Artifact,
    golden: Golden,
    private val delegates: List<Delegate>,
) : BenchSession {
    private val key: String = interpreter.signatureKeys.firstOrNull() ?: throw IllegalStateException("the model has no signature")
    private val feeds: List<Map<String, Any>>
    private val outputs: Map<String, Any>

    init {
        feeds =
            (0 until golden.samples).map { i ->
                artifact.inputs.associate { t ->
                    val tensor = interpreter.getInputTensorFromSignature(t.tensor, key)
                    val sample = golden.input(t.name, i)
                    val values = { if (t.layout == "NHWC") Tensors.nchwToNhwc(sample.floats(), sample.shape) else sample.floats() }
                    val q = tensor.quantizationParams()
                    t.tensor to buffer(values, { sample.longs() }, tensor.dataType(), q.scale, q.zeroPoint)
                }
            }
        outputs =
            artifact.outputs.associate { t ->
                val tensor = interpreter.getOutputTensorFromSignature(t.tensor, key)
                t.tensor to ByteBuffer.allocateDirect(tensor.numBytes()).order(ByteOrder.nativeOrder())
            }
    }

    override fun infer(sample: Int) {
        val inputs = feeds[sample % feeds.size]
        // rewound(), not rewind(): ByteBuffer.rewind() returning ByteBuffer is missing before API 26 (core/Buffers.kt).
        for (b in inputs.values) (b as ByteBuffer).rewound()
        for (b in outputs.values) (b as ByteBuffer).rewound()
        interpreter.runSignature(inputs, outputs, key)
    }

    override fun close() {
        interpreter.close()
        for (d in delegates) (d as? AutoCloseable)?.close()
    }

    private fun buffer(
        floats: () -> FloatArray,
        longs: () -> LongArray,
        type: DataType,
        scale: Float,
        zeroPoint: Int,
    ): ByteBuffer {
        val size =
            when (type) {
                DataType.FLOAT32, DataType.INT32 -> 4
                DataType.INT64 -> 8
                DataType.INT8, DataType.UINT8 -> 1
                else -> throw IllegalArgumentException("unsupported input type $type")
            }
        val b: ByteBuffer
        when (type) {
            DataType.INT32, DataType.INT64 -> {
                val ints = longs()
                b = ByteBuffer.allocateDirect(ints.size * size).order(ByteOrder.nativeOrder())
                if (type == DataType.INT32) b.asIntBuffer().put(IntArray(ints.size) { ints[it].toInt() }) else b.asLongBuffer().put(ints)
            }

            else -> {
                val values = floats()
                b = ByteBuffer.allocateDirect(values.size * size).order(ByteOrder.nativeOrder())
                when (type) {
                    DataType.INT8 -> Tensors.quantize(values, scale, zeroPoint, -128, 127).forEach { b.put(it.toByte()) }
                    DataType.UINT8 -> Tensors.quantize(values, scale, zeroPoint, 0, 255).forEach { b.put(it.toByte()) }
                    else -> b.asFloatBuffer().put(values)
                }
            }
        }
        return b.rewound()
    }
}

/** ONNX Runtime Android with the CPU or the NNAPI execution provider. */
class OrtBackend(
    private val file: File,
    private val artifact: Artifact,
    private val golden: Golden,
    private val provider: String,
    threads: Int,
) : Backend {
    override val runtime = "onnxruntime"
    override val backend = if (provider == "nnapi") "nnapi" else "cpu"
    override val delegate = if (provider == "nnapi") "NnapiExecutionProvider" else "CPUExecutionProvider"
    override val threads: Int? = threads
    private var env: OrtEnvironment? = null
    private var options: OrtSession.SessionOptions? = null

    override fun init() {
        env = OrtEnvironment.getEnvironment()
        options = OrtOptions.make(provider, threads)
    }

    override fun load(): BenchSession {
        val e = env ?: throw IllegalStateException("init() first")
        val o = options ?: throw IllegalStateException("init() first")
        val session = e.createSession(file.absolutePath, o)
        return OrtBenchSession(e, session, o, artifact, golden)
    }
}

private class OrtBenchSession(
    env: OrtEnvironment,
    private val session: OrtSession,
    private val options: OrtSession.SessionOptions,
    artifact: Artifact,
    golden: Golden,
) : BenchSession {
    private val feeds: List<Map<String, OnnxTensor>> =
        (0 until golden.samples).map { i ->
            artifact.inputs.associate { t ->
                val sample = golden.input(t.name, i)
                t.tensor to OrtOptions.tensor(env, { sample.floats() }, { sample.longs() }, t.dtype, sample.shape)
            }
        }

    override fun infer(sample: Int) {
        session.run(feeds[sample % feeds.size]).use { }
    }

    override fun close() {
        for (f in feeds) for (t in f.values) t.close()
        session.close()
        options.close()
    }
}
