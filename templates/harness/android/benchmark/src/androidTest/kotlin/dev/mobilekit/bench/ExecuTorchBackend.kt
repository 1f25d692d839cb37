package dev.mobilekit.bench

import dev.mobilekit.core.Artifact
import dev.mobilekit.core.BenchSession
import dev.mobilekit.core.Golden
import dev.mobilekit.core.TensorData
import dev.mobilekit.core.TensorModel
import org.pytorch.executorch.DType
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File

/**
 * ExecuTorch (the `org.pytorch:executorch-android` AAR): `.pte` programs through its
 * `org.pytorch.executorch.Module`. The AAR links the XNNPACK delegate and the portable,
 * optimized and quantized CPU kernels; the `coreml` / `coreml-int8` variants hold Core ML
 * delegate blobs and run only on Apple platforms, so they are not benchmarked here.
 *
 * A `.pte` takes and gives positional values: inputs in the order of the artifact's
 * manifest `inputs` (the order of the model's forward arguments), outputs in the order of its
 * `outputs`. Each input is a tensor of the manifest's shape and dtype (float32, int32 or int64).
 */
object ExecuTorchPrograms {
    /** The forward method every mobilekit `.pte` has. */
    const val METHOD = "forward"

    /** Whether the AAR can run this artifact (an ExecuTorch program without the Core ML delegate). */
    fun runsOnAndroid(artifact: Artifact): Boolean = artifact.target == "executorch" && !artifact.variant.startsWith("coreml")

    /**
     * Loads [file] (memory-mapped) and its forward method; [threads] sizes the AAR's XNNPACK
     * thread pool (0 leaves the AAR's default, half the cores).
     */
    fun load(
        file: File,
        threads: Int?,
    ): Module {
        val module = Module.load(file.absolutePath, Module.LOAD_MODE_MMAP, threads ?: 0)
        val status = module.loadMethod(METHOD)
        if (status != 0) {
            module.destroy()
            throw IllegalStateException("ExecuTorch could not load method '$METHOD' of ${file.name} (error 0x${Integer.toHexString(status)})")
        }
        return module
    }

    /** An input tensor in the [dtype] the manifest declares (int32 stays int32). */
    fun tensor(
        floats: () -> FloatArray,
        longs: () -> LongArray,
        dtype: String,
        shape: IntArray,
    ): Tensor {
        val dims = shape.map { it.toLong() }.toLongArray()
        return when (dtype) {
            "float32" -> Tensor.fromBlob(floats(), dims)
            "int32" -> Tensor.fromBlob(longs().let { l -> IntArray(l.size) { l[it].toInt() } }, dims)
            "int64" -> Tensor.fromBlob(longs(), dims)
            else -> throw IllegalArgumentException("unsupported ExecuTorch input dtype $dtype")
        }
    }

    /** An output tensor read back to the host: float32 as floats, integer tensors as ids. */
    fun read(tensor: Tensor): TensorData {
        val shape = tensor.shape().map { it.toInt() }.toIntArray()
        return when (tensor.dtype()) {
            DType.FLOAT -> {
                TensorData.f32(tensor.dataAsFloatArray, shape)
            }

            DType.INT32 -> {
                TensorData.ids(tensor.dataAsIntArray, shape, "int32")
            }

            DType.INT64 -> {
                val longs = tensor.dataAsLongArray
                TensorData.ids(IntArray(longs.size) { longs[it].toInt() }, shape, "int64")
            }

            else -> {
                throw IllegalArgumentException("unsupported ExecuTorch output dtype ${tensor.dtype()}")
            }
        }
    }

    /** Runs forward and checks it gave as many values as the manifest lists outputs. */
    fun forward(
        module: Module,
        artifact: Artifact,
        inputs: Array<EValue>,
    ): Array<EValue> {
        val outputs = module.forward(*inputs)
        if (outputs.size < artifact.outputs.size) {
            throw IllegalStateException("${artifact.path} gave ${outputs.size} output(s); the manifest lists ${artifact.outputs.size}")
        }
        return outputs
    }
}

/** One `.pte` of a classification or generic bundle on the AAR's CPU (XNNPACK) path. */
class ExecuTorchBackend(
    private val file: File,
    private val artifact: Artifact,
    private val golden: Golden,
    threads: Int,
) : Backend {
    override val runtime = "executorch"
    override val backend = "cpu"
    override val delegate = "xnnpack"
    override val threads: Int? = threads

    /** The runtime is set up by the AAR's static initializer (native library load) on first use of Module. */
    override fun init() {
        if (!ExecuTorchPrograms.runsOnAndroid(artifact)) {
            throw Unsupported("${artifact.label} uses the Core ML delegate, which runs only on Apple platforms")
        }
    }

    override fun load(): BenchSession = ExecuTorchSession(ExecuTorchPrograms.load(file, threads), artifact, golden)
}

private class ExecuTorchSession(
    private val module: Module,
    private val artifact: Artifact,
    golden: Golden,
) : BenchSession {
    // One set of input values per golden sample, made once (the timed runs only call forward).
    private val feeds: List<Array<EValue>> =
        (0 until golden.samples).map { i ->
            artifact.inputs
                .map { t ->
                    val sample = golden.input(t.name, i)
                    EValue.from(ExecuTorchPrograms.tensor({ sample.floats() }, { sample.longs() }, t.dtype, sample.shape))
                }.toTypedArray()
        }

    override fun infer(sample: Int) {
        val outputs = ExecuTorchPrograms.forward(module, artifact, feeds[sample % feeds.size])
        // read the outputs back to the host, as an app would (the other backends fill host buffers too)
        for (i in artifact.outputs.indices) ExecuTorchPrograms.read(outputs[i].toTensor())
    }

    override fun close() {
        module.destroy()
    }
}

/** An ExecuTorch program behind the core's [TensorModel] (translation encoders and decoder steps). */
class ExecuTorchTensorModel(
    private val module: Module,
    private val artifact: Artifact,
) : TensorModel {
    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val values =
            artifact.inputs
                .map { ref ->
                    val data = inputs[ref.name] ?: throw IllegalArgumentException("no value for input '${ref.name}'")
                    val longs = { data.longs ?: LongArray(data.count) { data.ints!![it].toLong() } }
                    // the dtype the manifest gives the program's input (a cache is float32, ids int32/int64)
                    EValue.from(ExecuTorchPrograms.tensor({ data.asFloats() }, longs, ref.dtype, data.shape))
                }.toTypedArray()
        val outputs = ExecuTorchPrograms.forward(module, artifact, values)
        return artifact.outputs.withIndex().associate { (i, ref) -> ref.name to ExecuTorchPrograms.read(outputs[i].toTensor()) }
    }

    override fun close() {
        module.destroy()
    }
}
