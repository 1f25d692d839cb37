package dev.mobilekit.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** A NumPy array read from a `.npy` file (C order): the golden inputs of a bundle. */
class NpyArray(
    val shape: IntArray,
    val dtype: String,
    private val data: ByteBuffer,
) {
    val count: Int = shape.fold(1) { a, b -> a * b }
    private val itemSize: Int = dtype.substring(2).toInt()

    /** The values as floats, whatever the stored type. */
    fun floats(): FloatArray =
        FloatArray(count) { i ->
            when (dtype.substring(1)) {
                "f4" -> data.getFloat(i * 4)
                "f8" -> data.getDouble(i * 8).toFloat()
                "i8" -> data.getLong(i * 8).toFloat()
                "i4" -> data.getInt(i * 4).toFloat()
                "u1" -> (data.get(i).toInt() and 0xFF).toFloat()
                "i1" -> data.get(i).toFloat()
                else -> throw IllegalArgumentException("unsupported .npy dtype $dtype")
            }
        }

    /** The values as longs (token ids and other integer inputs). */
    fun longs(): LongArray {
        val kind = dtype.substring(1)
        if (kind.startsWith("f")) {
            val f = floats()
            return LongArray(count) { f[it].toLong() }
        }
        return LongArray(count) { i ->
            when (kind) {
                "i8" -> data.getLong(i * 8)
                "i4" -> data.getInt(i * 4).toLong()
                "u1" -> (data.get(i).toInt() and 0xFF).toLong()
                "i1" -> data.get(i).toLong()
                else -> throw IllegalArgumentException("unsupported .npy dtype $dtype")
            }
        }
    }

    /** Item [index] along the first axis, keeping that axis with size 1 (a batch of one). */
    fun sample(index: Int): NpyArray {
        require(shape.isNotEmpty() && index in 0 until shape[0]) { "sample $index out of range" }
        val per = count / shape[0]
        val bytes = ByteArray(per * itemSize)
        val src = data.duplicate().order(data.order())
        src.position(index * per * itemSize)
        src.get(bytes)
        val sliced = shape.copyOf()
        sliced[0] = 1
        return NpyArray(sliced, dtype, ByteBuffer.wrap(bytes).order(data.order()))
    }
}

object Npy {
    private val magic = byteArrayOf(0x93.toByte(), 'N'.code.toByte(), 'U'.code.toByte(), 'M'.code.toByte(), 'P'.code.toByte(), 'Y'.code.toByte())

    fun parse(bytes: ByteArray): NpyArray {
        require(bytes.size > 10 && bytes.copyOfRange(0, 6).contentEquals(magic)) { "not a .npy file" }
        val major = bytes[6].toInt()
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val headerLen: Int
        val headerStart: Int
        if (major == 1) {
            headerLen = buf.getShort(8).toInt() and 0xFFFF
            headerStart = 10
        } else {
            headerLen = buf.getInt(8)
            headerStart = 12
        }
        val header = String(bytes, headerStart, headerLen, Charsets.ISO_8859_1)
        val descr =
            Regex("'descr'\\s*:\\s*'([^']+)'").find(header)?.groupValues?.get(1)
                ?: throw IllegalArgumentException("no descr in the .npy header")
        val fortran = Regex("'fortran_order'\\s*:\\s*(True|False)").find(header)?.groupValues?.get(1)
        require(fortran != "True") { "Fortran-ordered .npy files are not supported" }
        val shapeText =
            Regex("'shape'\\s*:\\s*\\(([^)]*)\\)").find(header)?.groupValues?.get(1)
                ?: throw IllegalArgumentException("no shape in the .npy header")
        val shape =
            shapeText
                .split(',')
                .map { it.trim() }
                .filter { it.isNotEmpty() }
                .map { it.toInt() }
                .toIntArray()
        val order = if (descr.startsWith(">")) ByteOrder.BIG_ENDIAN else ByteOrder.LITTLE_ENDIAN
        val kind = if (descr[0] in "<>|=") descr.substring(1) else descr
        require(kind.length >= 2 && kind.substring(1).toIntOrNull() != null) { "unsupported .npy dtype $descr" }
        val dataStart = headerStart + headerLen
        val data = ByteBuffer.wrap(bytes, dataStart, bytes.size - dataStart).slice().order(order)
        return NpyArray(shape, "<$kind", data)
    }
}
