package dev.mobilekit.bench.core

/** How a spec tensor appears in one artifact (the manifest's `inputs` / `outputs` entries). */
data class TensorIO(
    val name: String,
    val tensor: String,
    val layout: String,
    val dtype: String,
    val shape: IntArray,
)

/** One artifact of the bundle, as the manifest describes it. */
data class Artifact(
    val target: String,
    val variant: String,
    val path: String,
    val sha256: String,
    val sizeBytes: Long?,
    val status: String,
    val inputs: List<TensorIO>,
    val outputs: List<TensorIO>,
) {
    val label: String get() = "$target/$variant"
    val runnable: Boolean get() = status != "failed" && path.isNotEmpty()
}

/** The parts of `manifest.json` (schema mobilekit.manifest/1) a benchmark needs. */
data class BundleManifest(
    val name: String,
    val version: String,
    val golden: String,
    val artifacts: List<Artifact>,
) {
    companion object {
        fun parse(text: String): BundleManifest {
            val root = Json.parse(text) as? Map<*, *> ?: throw IllegalArgumentException("manifest.json is not an object")
            require(root["schema"] == "mobilekit.manifest/1") { "manifest schema ${root["schema"]} is not mobilekit.manifest/1" }
            val artifacts =
                (root["artifacts"] as? List<*>).orEmpty().mapNotNull { it as? Map<*, *> }.map { a ->
                    Artifact(
                        target = a["target"].toString(),
                        variant = a["variant"].toString(),
                        path = (a["path"] as? String).orEmpty(),
                        sha256 = (a["sha256"] as? String).orEmpty(),
                        sizeBytes = (a["size_bytes"] as? Number)?.toLong(),
                        status = a["status"].toString(),
                        inputs = tensors(a["inputs"]),
                        outputs = tensors(a["outputs"]),
                    )
                }
            return BundleManifest(
                name = root["name"].toString(),
                version = (root["version"] as? String).orEmpty(),
                golden = (root["golden"] as? String) ?: "assets/golden/",
                artifacts = artifacts,
            )
        }

        private fun tensors(value: Any?): List<TensorIO> =
            (value as? List<*>).orEmpty().mapNotNull { it as? Map<*, *> }.map { t ->
                TensorIO(
                    name = t["name"].toString(),
                    tensor = (t["tensor"] ?: t["name"]).toString(),
                    layout = (t["layout"] as? String).orEmpty(),
                    dtype = (t["dtype"] as? String) ?: "float32",
                    shape = (t["shape"] as? List<*>).orEmpty().map { (it as Number).toInt() }.toIntArray(),
                )
            }
    }
}

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
