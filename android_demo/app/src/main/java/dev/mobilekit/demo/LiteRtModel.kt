package dev.mobilekit.demo

import android.util.Log
import dev.mobilekit.core.rewound
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A LiteRT interpreter and the delegate it runs on ("gpu" or "cpu/xnnpack").
 *
 * Not thread-safe, and bound to one thread: it is created, run and closed on its model's
 * [dev.mobilekit.core.ModelWorker] thread, because the GPU delegate's OpenGL backend must run
 * on the thread that created it. Buffers are rewound through the core's `rewound()` (see Buffers.kt).
 */
class LiteRtModel(
    val interpreter: Interpreter,
    val backend: String,
    private val gpu: GpuDelegate?,
) : AutoCloseable {
    /** The model's first signature: the tensor names of the manifest are its inputs and outputs. */
    val signature: String = interpreter.signatureKeys.firstOrNull() ?: throw IllegalStateException("the model has no signature")

    fun inputTensor(name: String) = interpreter.getInputTensorFromSignature(name, signature)

    fun outputTensor(name: String) = interpreter.getOutputTensorFromSignature(name, signature)

    /** A direct buffer sized for the named input or output tensor. */
    fun bufferFor(
        name: String,
        output: Boolean = false,
    ): ByteBuffer {
        val tensor = if (output) outputTensor(name) else inputTensor(name)
        return ByteBuffer.allocateDirect(tensor.numBytes()).order(ByteOrder.nativeOrder())
    }

    fun run(
        inputs: Map<String, Any>,
        outputs: Map<String, Any>,
    ) = interpreter.runSignature(inputs, outputs, signature)

    override fun close() {
        interpreter.close()
        gpu?.close()
    }

    companion object {
        private const val TAG = "LiteRt"

        /**
         * The GPU delegate when this device supports it and the model both builds and passes
         * [probe] on it (one real inference: some GPU failures only show at the first run);
         * otherwise the CPU with XNNPACK on [threads] threads, which must pass [probe] too.
         * Call it on the thread that will run the model.
         */
        fun create(
            model: ByteBuffer,
            preferGpu: Boolean = true,
            threads: Int = 4,
            probe: (LiteRtModel) -> Unit = {},
        ): LiteRtModel {
            if (preferGpu) {
                val compat = CompatibilityList()
                if (compat.isDelegateSupportedOnThisDevice) {
                    var made: LiteRtModel? = null
                    var delegate: GpuDelegate? = null
                    try {
                        delegate = GpuDelegate(compat.bestOptionsForThisDevice)
                        val options = Interpreter.Options().addDelegate(delegate)
                        made = LiteRtModel(Interpreter(model, options), "gpu", delegate)
                        probe(made)
                        return made
                    } catch (e: Exception) {
                        // Some ops have no GPU kernel, some drivers fail at the first run: fall back rather than fail.
                        Log.w(TAG, "GPU delegate failed, using the CPU: ${e.message}")
                        if (made != null) made.close() else delegate?.close()
                    }
                }
            }
            val options = Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true)
            val cpu = LiteRtModel(Interpreter(model, options), "cpu/xnnpack x$threads", null)
            try {
                probe(cpu)
            } catch (e: Exception) {
                cpu.close()
                throw e
            }
            return cpu
        }

        /** Writes [values] into [buffer] as the tensor's type (float, or int8/uint8 quantized). */
        fun putFloats(
            buffer: ByteBuffer,
            values: FloatArray,
            type: DataType,
            scale: Float,
            zeroPoint: Int,
        ) {
            buffer.rewound()
            when (type) {
                DataType.FLOAT32 -> {
                    buffer.asFloatBuffer().put(values)
                }

                DataType.INT8, DataType.UINT8 -> {
                    val (lo, hi) = if (type == DataType.INT8) -128 to 127 else 0 to 255
                    for (v in values) buffer.put((Math.round(v / scale) + zeroPoint).coerceIn(lo, hi).toByte())
                }

                else -> {
                    throw IllegalArgumentException("unsupported input type $type")
                }
            }
            buffer.rewound()
        }

        /** Reads a float, int8 or uint8 tensor buffer as floats (dequantized). */
        fun getFloats(
            buffer: ByteBuffer,
            count: Int,
            type: DataType,
            scale: Float,
            zeroPoint: Int,
        ): FloatArray {
            buffer.rewound()
            val out = FloatArray(count)
            when (type) {
                DataType.FLOAT32 -> {
                    buffer.asFloatBuffer().get(out)
                }

                DataType.INT8 -> {
                    for (i in 0 until count) out[i] = (buffer.get(i) - zeroPoint) * scale
                }

                DataType.UINT8 -> {
                    for (i in 0 until count) out[i] = ((buffer.get(i).toInt() and 0xFF) - zeroPoint) * scale
                }

                else -> {
                    throw IllegalArgumentException("unsupported output type $type")
                }
            }
            return out
        }

        /** Writes integer ids as the tensor's int32 or int64 type. */
        fun putInts(
            buffer: ByteBuffer,
            values: IntArray,
            type: DataType,
        ) {
            buffer.rewound()
            when (type) {
                DataType.INT32 -> buffer.asIntBuffer().put(values)
                DataType.INT64 -> buffer.asLongBuffer().put(LongArray(values.size) { values[it].toLong() })
                else -> throw IllegalArgumentException("unsupported id type $type")
            }
            buffer.rewound()
        }
    }
}
