package dev.mobilekit.demo

import dev.mobilekit.core.Artifact
import dev.mobilekit.core.ProgramIo
import dev.mobilekit.core.Runtimes
import dev.mobilekit.core.TensorData
import dev.mobilekit.core.TensorModel
import org.pytorch.executorch.DType
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File
import java.nio.FloatBuffer

/**
 * ExecuTorch programs through the `org.pytorch:executorch-android` AAR's `Module`, which links
 * XNNPACK and the CPU kernels: the bundle's fp32 / fp16 / int8 `.pte` run here; the `coreml` /
 * `coreml-int8` ones hold Core ML delegate blobs and are never offered ([Runtimes.delegateElsewhere]).
 * Which value goes where, in which dtype, is the core's [ProgramIo]; this only converts to and
 * from the AAR's tensors. No Android classes: it is compiled against the AAR's signatures in
 * tests/demo_apps/test_android_executorch.py.
 */
object ExecuTorchPrograms {
    /** The method every mobilekit `.pte` has. */
    const val METHOD = "forward"

    /** What the screens show as the backend: the AAR runs `.pte` on the CPU, delegated to XNNPACK. */
    fun backend(threads: Int): String = "cpu/xnnpack x$threads (executorch)"

    /**
     * [file] memory-mapped, with its forward method loaded now (so the first frame or token does
     * not pay for it); [threads] sizes XNNPACK's thread pool. Call it on the model's thread.
     */
    fun load(
        file: File,
        artifact: Artifact,
        threads: Int,
    ): Module {
        Runtimes.delegateElsewhere(artifact, Runtimes.ANDROID)?.let { throw IllegalStateException("${artifact.label}: $it") }
        val module = Module.load(file.absolutePath, Module.LOAD_MODE_MMAP, threads)
        val status = module.loadMethod(METHOD)
        if (status != 0) {
            module.destroy()
            throw IllegalStateException("ExecuTorch could not load '$METHOD' of ${artifact.path} (error 0x${Integer.toHexString(status)})")
        }
        return module
    }

    /** A host tensor as the AAR's tensor, in the dtype [ProgramIo] gave it. */
    fun tensor(data: TensorData): Tensor {
        val dims = LongArray(data.shape.size) { data.shape[it].toLong() }
        return when (data.dtype) {
            "float32" -> Tensor.fromBlob(data.asFloats(), dims)
            "int32" -> Tensor.fromBlob(data.asInts(), dims)
            "int64" -> Tensor.fromBlob(data.longs ?: data.asInts().let { i -> LongArray(i.size) { i[it].toLong() } }, dims)
            else -> throw IllegalArgumentException("unsupported ExecuTorch input dtype ${data.dtype}")
        }
    }

    /** An output read back: float32 as floats, int32/int64 as ids (getDataAsFloatArray throws for integers). */
    fun read(tensor: Tensor): TensorData {
        val shape = tensor.shape().let { s -> IntArray(s.size) { s[it].toInt() } }
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

    /** forward on positional [values]; its outputs by the artifact's manifest names. */
    fun forward(
        module: Module,
        artifact: Artifact,
        values: Array<EValue>,
    ): Map<String, TensorData> {
        // A destroyed module returns no values: ProgramIo.outputs turns that into one line.
        val outputs = module.forward(*values)
        return ProgramIo.outputs(artifact, outputs.take(artifact.outputs.size).map { read(it.toTensor()) })
    }
}

/** One `.pte` behind the core's [TensorModel]: a translation encoder or decoder step for [dev.mobilekit.core.CachedSeq2SeqRunner]. */
class ExecuTorchTensorModel(
    private val module: Module,
    private val artifact: Artifact,
) : TensorModel {
    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val values = ProgramIo.inputs(artifact, inputs).map { EValue.from(ExecuTorchPrograms.tensor(it)) }
        return ExecuTorchPrograms.forward(module, artifact, values.toTypedArray())
    }

    override fun close() = module.destroy()
}

/**
 * A classifier `.pte` fed from one direct float buffer the AAR's tensor wraps: each frame is
 * written into it in place (no per-frame tensor or array), the logits read back as floats.
 */
class ExecuTorchImageModel(
    private val module: Module,
    private val artifact: Artifact,
    inputName: String,
) : AutoCloseable {
    private val ref =
        artifact.inputs.singleOrNull { it.name == inputName }
            ?: throw IllegalArgumentException("${artifact.label} must take one image input '$inputName' (it takes ${artifact.inputs.map { it.name }})")
    private val input: FloatBuffer = Tensor.allocateFloatBuffer(ref.shape.fold(1) { a, b -> a * b })
    private val value = EValue.from(Tensor.fromBlob(input, LongArray(ref.shape.size) { ref.shape[it].toLong() }))
    private val outputName = artifact.outputs.firstOrNull()?.name ?: throw IllegalArgumentException("${artifact.label} lists no outputs")

    init {
        if (artifact.inputs.size != 1 || ref.dtype != "float32") {
            throw IllegalArgumentException(
                "${artifact.label}: the Camera screen feeds one float32 image, the manifest lists ${artifact.inputs.map { "${it.name} ${it.dtype}" }}",
            )
        }
    }

    /** Scores for one preprocessed image of the manifest's shape and layout. */
    fun infer(values: FloatArray): FloatArray {
        require(values.size == input.capacity()) { "${values.size} values for an input of ${input.capacity()}" }
        input.clear()
        input.put(values)
        input.clear()
        return ExecuTorchPrograms.forward(module, artifact, arrayOf(value)).getValue(outputName).asFloats()
    }

    override fun close() = module.destroy()
}
