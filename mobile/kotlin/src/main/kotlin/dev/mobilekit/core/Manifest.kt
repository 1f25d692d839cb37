package dev.mobilekit.core

/** Thrown when a bundle's manifest lacks something the app needs; the message names it. */
class ManifestException(
    message: String,
) : IllegalArgumentException(message)

/** How raw pixels become the model input: x = (pixel * scale - mean) / std, per channel. */
data class Preprocessing(
    val mean: FloatArray,
    val std: FloatArray,
    val scale: Float,
    val color: String,
)

/** A model input or output as the manifest describes it (in the source model's layout). */
data class TensorSpec(
    val name: String,
    val shape: IntArray,
    val dtype: String,
    val preprocessing: Preprocessing?,
    val labels: String?,
)

/** How one artifact names and lays out a tensor. */
data class TensorRef(
    val name: String,
    val tensor: String,
    val layout: String,
    val dtype: String,
    val shape: IntArray,
)

/** One converted model file of the bundle. */
data class Artifact(
    val target: String,
    val variant: String,
    val path: String,
    val layout: String,
    val precision: String,
    val status: String,
    val graph: String?,
    val inputs: List<TensorRef>,
    val outputs: List<TensorRef>,
    val sha256: String = "",
    val sizeBytes: Long? = null,
    val statusReason: String? = null,
    /** The host benchmark's p50 in ms, when the export timed this artifact. */
    val hostP50Ms: Double? = null,
    /** For a translation graph: the host's mean decoder time per token (`decoding.ms_per_token`). */
    val hostMsPerToken: Double? = null,
    /** The delegate an ExecuTorch program was lowered to (`details.backend`: XnnpackBackend, CoreMLBackend). */
    val backend: String? = null,
) {
    val usable: Boolean get() = status != "failed" && path.isNotEmpty()

    /** Alias used by the benchmark harness: a file that exists and did not fail at export. */
    val runnable: Boolean get() = usable

    val label: String get() = if (graph == null) "$target/$variant" else "$target/$variant/$graph"
}

data class SpecialTokens(
    val pad: Int,
    val bos: Int,
    val eos: Int,
    val unk: Int,
)

/** The `translation` object of a translation bundle's manifest. */
data class TranslationConfig(
    val tokenizer: String,
    val special: SpecialTokens,
    val vocabSize: Int,
    val maxSourceLen: Int,
    val maxTargetLen: Int,
    val sourceFormat: String,
    val encoderInputs: List<TensorRef>,
    val encoderOutputs: List<TensorRef>,
    val decoderInputs: List<TensorRef>,
    val decoderOutputs: List<TensorRef>,
    val cache: Map<String, Any?>,
    /** HF generate's `forced_bos_token_id` (a language id as the first token), from `translation.decoder_start`. */
    val forcedBos: Int? = null,
    /** HF generate's `forced_eos_token_id` (forced at the last allowed step), from `translation.decoder_start`. */
    val forcedEos: Int? = null,
    /** A Hugging Face bundle: the tokenizer's own contract (template, `skip_special_tokens`), see [TranslationText]. */
    val tokenizerContract: Boolean = false,
    /** The manifest describes beam search (`translation.beam_search`): the app may offer widths above 1. */
    val beamSearch: Boolean = false,
) {
    /** Whether source ids start with `<bos>`: the manifest's `source_format` says so. */
    val sourceStartsWithBos: Boolean get() = sourceFormat.trim().startsWith("<bos>")
}

/** The parts of a bundle's `manifest.json` the demo apps and the benchmark harness read. */
class BundleManifest(
    val name: String,
    val version: String,
    val task: String,
    val inputs: List<TensorSpec>,
    val outputs: List<TensorSpec>,
    val artifacts: List<Artifact>,
    val golden: String?,
    val translation: TranslationConfig?,
) {
    /** The golden folder, bundle-relative, without a trailing slash. */
    val goldenDir: String get() = (golden ?: "assets/golden/").trimEnd('/')

    /**
     * The artifact to run for [target] (and [graph], for seq2seq bundles): the first usable one in
     * the order of [preferred] variants, else the first usable one at all.
     */
    fun artifact(
        target: String,
        graph: String? = null,
        preferred: List<String> = listOf("fp32", "fp16", "int8-dynamic", "int8"),
    ): Artifact {
        val candidates = artifacts.filter { it.target == target && it.usable && (graph == null || it.graph == graph) }
        if (candidates.isEmpty()) {
            val what = if (graph == null) target else "$target $graph"
            throw ManifestException("bundle '$name' has no usable $what artifact")
        }
        return preferred.firstNotNullOfOrNull { v -> candidates.firstOrNull { it.variant == v } } ?: candidates.first()
    }

    companion object {
        fun parse(text: String): BundleManifest {
            val root = Json.parse(text) as? Map<*, *> ?: throw ManifestException("manifest.json is not a JSON object")
            val schema = root.str("schema")
            if (!schema.startsWith("mobilekit.manifest/")) throw ManifestException("unknown manifest schema '$schema'")
            return BundleManifest(
                name = root.str("name"),
                version = root.optStr("version") ?: "",
                task = root.str("task"),
                inputs = root.list("inputs").map { tensorSpec(it) },
                outputs = root.list("outputs").map { tensorSpec(it) },
                artifacts = root.list("artifacts").map { artifact(it) },
                golden = root.optStr("golden"),
                translation = (root["translation"] as? Map<*, *>)?.let { translation(it) },
            )
        }

        private fun tensorSpec(value: Any?): TensorSpec {
            val m = value.obj("tensor")
            val pre = m["preprocessing"] as? Map<*, *>
            return TensorSpec(
                name = m.str("name"),
                shape = m.ints("shape"),
                dtype = m.optStr("dtype") ?: "float32",
                preprocessing =
                    pre?.let {
                        Preprocessing(
                            mean = it.floats("mean"),
                            std = it.floats("std"),
                            scale = it.num("scale").toFloat(),
                            color = it.optStr("color") ?: "RGB",
                        )
                    },
                labels = m.optStr("labels"),
            )
        }

        private fun tensorRef(value: Any?): TensorRef {
            val m = value.obj("tensor")
            val name = m.str("name")
            return TensorRef(
                name = name,
                tensor = m.optStr("tensor") ?: name,
                layout = m.optStr("layout") ?: "",
                dtype = m.optStr("dtype") ?: "float32",
                shape = if (m["shape"] is List<*>) m.ints("shape") else IntArray(0),
            )
        }

        private fun artifact(value: Any?): Artifact {
            val m = value.obj("artifact")
            return Artifact(
                target = m.str("target"),
                variant = m.optStr("variant") ?: "",
                path = m.optStr("path") ?: "",
                layout = m.optStr("layout") ?: "",
                precision = m.optStr("precision") ?: "",
                status = m.optStr("status") ?: "unverified",
                graph = m.optStr("graph"),
                inputs = (m["inputs"] as? List<*>)?.map { tensorRef(it) } ?: emptyList(),
                outputs = (m["outputs"] as? List<*>)?.map { tensorRef(it) } ?: emptyList(),
                sha256 = m.optStr("sha256") ?: "",
                sizeBytes = (m["size_bytes"] as? Number)?.toLong(),
                statusReason = m.optStr("status_reason") ?: m.optStr("error"),
                hostP50Ms = ((m["latency_ms"] as? Map<*, *>)?.get("p50") as? Number)?.toDouble(),
                hostMsPerToken = ((m["decoding"] as? Map<*, *>)?.get("ms_per_token") as? Number)?.toDouble(),
                backend = (m["details"] as? Map<*, *>)?.get("backend") as? String,
            )
        }

        private fun translation(m: Map<*, *>): TranslationConfig {
            val special = m["special_tokens"].obj("translation.special_tokens")
            val encoder = m["encoder"].obj("translation.encoder")
            val decoder = m["decoder"].obj("translation.decoder")
            val start = m["decoder_start"] as? Map<*, *>
            return TranslationConfig(
                tokenizer = m.str("tokenizer"),
                special =
                    SpecialTokens(
                        pad = special.num("pad").toInt(),
                        bos = special.num("bos").toInt(),
                        eos = special.num("eos").toInt(),
                        unk = special.num("unk").toInt(),
                    ),
                vocabSize = m.num("vocab_size").toInt(),
                maxSourceLen = m.num("max_source_len").toInt(),
                maxTargetLen = m.num("max_target_len").toInt(),
                sourceFormat = m.optStr("source_format") ?: "tokens <eos> <pad>*",
                encoderInputs = encoder.list("inputs").map { tensorRef(it) },
                encoderOutputs = encoder.list("outputs").map { tensorRef(it) },
                decoderInputs = decoder.list("inputs").map { tensorRef(it) },
                decoderOutputs = decoder.list("outputs").map { tensorRef(it) },
                cache = (m["cache"] as? Map<*, *>)?.entries?.associate { it.key.toString() to it.value } ?: emptyMap(),
                forcedBos = (start?.get("forced_bos") as? Number)?.toInt(),
                forcedEos = (start?.get("forced_eos") as? Number)?.toInt(),
                tokenizerContract = start != null,
                beamSearch = m["beam_search"] is String,
            )
        }

        private fun Any?.obj(what: String): Map<*, *> = this as? Map<*, *> ?: throw ManifestException("manifest: $what is not an object")

        private fun Map<*, *>.str(key: String): String = this[key] as? String ?: throw ManifestException("manifest: missing string '$key'")

        private fun Map<*, *>.optStr(key: String): String? = this[key] as? String

        private fun Map<*, *>.num(key: String): Number = this[key] as? Number ?: throw ManifestException("manifest: missing number '$key'")

        private fun Map<*, *>.list(key: String): List<*> = this[key] as? List<*> ?: throw ManifestException("manifest: missing list '$key'")

        private fun Map<*, *>.ints(key: String): IntArray =
            list(key).map { (it as? Number)?.toInt() ?: throw ManifestException("manifest: '$key' holds a non-number") }.toIntArray()

        private fun Map<*, *>.floats(key: String): FloatArray =
            list(key).map { (it as? Number)?.toFloat() ?: throw ManifestException("manifest: '$key' holds a non-number") }.toFloatArray()
    }
}
