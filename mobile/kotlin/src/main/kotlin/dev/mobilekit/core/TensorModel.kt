package dev.mobilekit.core

/** A tensor on the host side of a runtime call: float32, int32 or int64 values and a shape. */
class TensorData private constructor(
    val shape: IntArray,
    val dtype: String,
    val floats: FloatArray?,
    val ints: IntArray?,
    val longs: LongArray?,
) {
    val count: Int get() = shape.fold(1) { a, b -> a * b }

    /** The values as floats (logits, caches); integer tensors are converted. */
    fun asFloats(): FloatArray =
        floats ?: ints?.let { FloatArray(it.size) { i -> it[i].toFloat() } }
            ?: longs!!.let { FloatArray(it.size) { i -> it[i].toFloat() } }

    /** Integer ids as ints (a float tensor is refused: ids are never rounded from floats). */
    fun asInts(): IntArray =
        ints ?: longs?.let { l -> IntArray(l.size) { i -> l[i].toInt() } }
            ?: throw ManifestException("a float32 tensor cannot be fed where the manifest declares integer ids")

    /**
     * These values in [dtype] as the manifest declares it for the receiving tensor: float32 stays
     * (ids become floats only where floats are declared), int32/int64 ids keep their values.
     */
    fun cast(dtype: String): TensorData =
        when {
            dtype == this.dtype -> this
            dtype == "float32" -> f32(asFloats(), shape)
            dtype == "int32" || dtype == "int64" -> ids(asInts(), shape, dtype)
            else -> throw ManifestException("unsupported tensor dtype $dtype (float32, int32 or int64)")
        }

    companion object {
        fun f32(
            values: FloatArray,
            shape: IntArray,
        ): TensorData = TensorData(shape, "float32", check(values, shape), null, null)

        /** Integer ids in the dtype the manifest declares for the tensor (int32 or int64). */
        fun ids(
            values: IntArray,
            shape: IntArray,
            dtype: String,
        ): TensorData {
            check(values, shape)
            return when (dtype) {
                "int32" -> TensorData(shape, dtype, null, values, null)
                "int64" -> TensorData(shape, dtype, null, null, LongArray(values.size) { values[it].toLong() })
                else -> throw ManifestException("ids must be int32 or int64, the manifest says $dtype")
            }
        }

        fun zeros(ref: TensorRef): TensorData {
            if (ref.shape.isEmpty()) throw ManifestException("tensor '${ref.name}' has no shape in the manifest")
            if (ref.dtype != "float32") throw ManifestException("cache '${ref.name}' is ${ref.dtype}; only float32 caches are supported")
            return f32(FloatArray(ref.shape.fold(1) { a, b -> a * b }), ref.shape)
        }

        private fun <T> check(
            values: T,
            shape: IntArray,
        ): T {
            val n =
                when (values) {
                    is FloatArray -> values.size
                    is IntArray -> values.size
                    else -> -1
                }
            require(n == shape.fold(1) { a, b -> a * b }) { "$n values do not fill shape ${shape.toList()}" }
            return values
        }
    }
}

/**
 * One model file behind a runtime (LiteRT, ONNX Runtime, ExecuTorch): tensors in and out by the
 * manifest's names. Implementations map those to the file's own tensor names and types.
 */
interface TensorModel : AutoCloseable {
    fun run(inputs: Map<String, TensorData>): Map<String, TensorData>

    override fun close() {}
}

/**
 * A translation bundle's encoder and decoder step behind [Seq2SeqRunner], for any runtime: ids
 * in the manifest's dtypes and shapes, the KV cache zeroed at each sentence and fed back
 * (`present_X` of one step is `past_X` of the next), as [DecoderWiring] reads the manifest. As a
 * [BeamRunner] the cache is the map of `past_X` tensors, one per beam.
 */
class CachedSeq2SeqRunner(
    private val encoder: TensorModel,
    private val decoder: TensorModel,
    private val config: TranslationConfig,
) : Seq2SeqRunner,
    BeamRunner<Map<String, TensorData>> {
    private val wiring = DecoderWiring.plan(config)
    private val source: TensorRef =
        config.encoderInputs.singleOrNull() ?: throw ManifestException("the encoder must take exactly one input (the source ids)")
    private val decoderInputs = config.decoderInputs.associateBy { it.name }
    private var memory: Map<String, TensorData> = emptyMap()
    private var cache: Map<String, TensorData> = emptyMap()

    override fun encode(sourceIds: IntArray) {
        val shape = source.shape.takeIf { it.isNotEmpty() } ?: intArrayOf(1, sourceIds.size)
        memory = encoder.run(mapOf(source.name to TensorData.ids(sourceIds, shape, source.dtype)))
        for (t in config.encoderOutputs) {
            if (t.name !in memory) throw ManifestException("the encoder gave no output '${t.name}'")
        }
        cache = initialCache()
    }

    override fun initialCache(): Map<String, TensorData> {
        val zeros = LinkedHashMap<String, TensorData>()
        for ((name, feed) in wiring.feeds) if (feed is Feed.Cache) zeros[name] = TensorData.zeros(decoderInputs.getValue(name))
        return zeros
    }

    override fun step(
        token: Int,
        position: Int,
    ): FloatArray {
        val res = step(token, position, cache)
        cache = res.cache
        return res.logits
    }

    override fun step(
        token: Int,
        position: Int,
        cache: Map<String, TensorData>,
    ): BeamStep<Map<String, TensorData>> {
        val feeds = LinkedHashMap<String, TensorData>()
        for ((name, feed) in wiring.feeds) {
            val ref = decoderInputs.getValue(name)
            feeds[name] =
                when (feed) {
                    Feed.Token -> TensorData.ids(intArrayOf(token), ref.shape.ifEmpty { intArrayOf(1, 1) }, ref.dtype)
                    Feed.Position -> TensorData.ids(intArrayOf(position), ref.shape.ifEmpty { intArrayOf(1) }, ref.dtype)
                    is Feed.FromEncoder -> memory.getValue(feed.output)
                    is Feed.Cache -> cache.getValue(name)
                }
        }
        val out = decoder.run(feeds)
        val next = LinkedHashMap<String, TensorData>()
        for ((name, feed) in wiring.feeds) {
            if (feed is Feed.Cache) next[name] = out[feed.output] ?: throw ManifestException("the decoder gave no output '${feed.output}'")
        }
        val logits = (out[wiring.logits] ?: throw ManifestException("the decoder gave no output '${wiring.logits}'")).asFloats()
        return BeamStep(logits, next)
    }

    override fun close() {
        encoder.close()
        decoder.close()
    }
}

private fun IntArray.ifEmpty(default: () -> IntArray): IntArray = if (isEmpty()) default() else this
