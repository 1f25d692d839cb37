package dev.mobilekit.core

/** The golden inputs (`assets/golden/index.json` and its .npy files), one sample at a time. */
class Golden(
    val samples: Int,
    private val inputs: Map<String, NpyArray>,
) {
    val names: Set<String> get() = inputs.keys

    /** Sample [index] of input [name], batch of one, NCHW as torch sees it. */
    fun input(
        name: String,
        index: Int,
    ): NpyArray = inputs[name]?.sample(index % samples) ?: throw IllegalArgumentException("no golden input '$name'")

    companion object {
        /** [read] gives the bytes of a file by its path relative to the golden folder. */
        fun load(read: (String) -> ByteArray): Golden {
            val index = Json.parse(String(read("index.json"), Charsets.UTF_8)) as Map<*, *>
            val samples = (index["samples"] as Number).toInt()
            val inputs =
                (index["inputs"] as Map<*, *>).entries.associate { (name, v) ->
                    name.toString() to Npy.parse(read((v as Map<*, *>)["file"].toString()))
                }
            return Golden(samples, inputs)
        }
    }
}

/** The golden sentences of a translation bundle (`assets/golden/translation.json`). */
class TranslationGolden(
    val samples: List<Sample>,
) {
    data class Sample(
        val text: String,
        val sourceIds: IntArray,
        val outputIds: IntArray,
        val stepLogits: String?,
    )

    companion object {
        const val FILE = "translation.json"

        fun parse(text: String): TranslationGolden {
            val root = Json.parse(text) as? Map<*, *> ?: throw ManifestException("$FILE is not a JSON object")
            val samples =
                (root["samples"] as? List<*> ?: throw ManifestException("$FILE has no samples")).map { s ->
                    val m = s as? Map<*, *> ?: throw ManifestException("$FILE: a sample is not an object")
                    Sample(
                        text = m["text"] as? String ?: "",
                        sourceIds = ids(m["source_ids"], "source_ids"),
                        outputIds = ids(m["output_ids"], "output_ids"),
                        stepLogits = m["step_logits"] as? String,
                    )
                }
            if (samples.isEmpty()) throw ManifestException("$FILE has no samples")
            return TranslationGolden(samples)
        }

        private fun ids(
            value: Any?,
            key: String,
        ): IntArray =
            (value as? List<*> ?: throw ManifestException("$FILE: sample without $key"))
                .map { (it as? Number)?.toInt() ?: throw ManifestException("$FILE: $key holds a non-number") }
                .toIntArray()
    }
}
