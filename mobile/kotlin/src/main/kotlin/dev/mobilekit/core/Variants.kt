package dev.mobilekit.core

/**
 * One runnable model of a bundle as the user picks it: a single artifact for a classifier, or an
 * encoder and decoder of the same target and variant for a translator (pairs are never mixed:
 * the SDK verifies an encoder with its own decoder only).
 */
data class ModelChoice(
    val target: String,
    val variant: String,
    val precision: String,
    val status: String,
    val hostP50Ms: Double?,
    val artifacts: Map<String, Artifact>,
) {
    val verified: Boolean get() = status == "verified"

    /** The artifact of [graph] ("model" for a single-graph bundle). */
    fun artifact(graph: String = SINGLE): Artifact = artifacts[graph] ?: throw ManifestException("$target/$variant has no $graph graph")

    val label: String get() = "$target $variant ($precision, $status)"

    companion object {
        const val SINGLE = "model"
    }
}

object Choices {
    /** Variants in the order the apps offer them (the first is the default). */
    val VARIANT_ORDER = listOf("fp32", "fp16", "int8-dynamic", "int8", "coreml", "coreml-int8")

    /**
     * The choices of [manifest] that run on [targets] (in that order of preference): verified ones
     * first; unverified ones only when [includeUnverified] or when nothing is verified; never failed.
     */
    fun of(
        manifest: BundleManifest,
        targets: List<String>,
        includeUnverified: Boolean = false,
    ): List<ModelChoice> {
        val all = if (manifest.translation != null) pairs(manifest, targets) else singles(manifest, targets)
        val verified = all.filter { it.verified }
        val shown = if (includeUnverified || verified.isEmpty()) all else verified
        return shown.sortedWith(
            compareBy<ModelChoice> { if (it.verified) 0 else 1 }
                .thenBy { targets.indexOf(it.target) }
                .thenBy { VARIANT_ORDER.indexOf(it.variant).let { i -> if (i < 0) VARIANT_ORDER.size else i } }
                .thenBy { it.variant },
        )
    }

    private fun singles(
        manifest: BundleManifest,
        targets: List<String>,
    ): List<ModelChoice> =
        manifest.artifacts
            .filter { it.target in targets && it.usable && it.graph == null }
            .map { ModelChoice(it.target, it.variant, it.precision, it.status, it.hostP50Ms, mapOf(ModelChoice.SINGLE to it)) }

    private fun pairs(
        manifest: BundleManifest,
        targets: List<String>,
    ): List<ModelChoice> {
        val usable = manifest.artifacts.filter { it.target in targets && it.usable && it.graph != null }
        return usable
            .groupBy { it.target to it.variant }
            .mapNotNull { (key, group) ->
                val encoder = group.firstOrNull { it.graph == "encoder" } ?: return@mapNotNull null
                val decoder = group.firstOrNull { it.graph == "decoder" } ?: return@mapNotNull null
                val status = if (encoder.status == "verified" && decoder.status == "verified") "verified" else "unverified"
                // Per token, the decoder step is what the user waits for.
                ModelChoice(key.first, key.second, decoder.precision, status, decoder.hostP50Ms, mapOf("encoder" to encoder, "decoder" to decoder))
            }
    }
}
