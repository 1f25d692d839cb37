package dev.mobilekit.core

import java.util.Locale

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
    val hostMsPerToken: Double? = null,
) {
    val verified: Boolean get() = status == "verified"

    /** The artifact of [graph] ("model" for a single-graph bundle). */
    fun artifact(graph: String = SINGLE): Artifact = artifacts[graph] ?: throw ManifestException("$target/$variant has no $graph graph")

    val label: String get() = "$target $variant ($precision, $status)"

    /** The runtime that runs this choice, as the picker names it (LiteRT, ExecuTorch, Core ML). */
    val runtime: String get() = Runtimes.runtimeOf(target)

    /** The picker's name for this choice: runtime, target and variant ("ExecuTorch · executorch fp32"). */
    val title: String get() = "$runtime · $target $variant"

    /** What the host measured at export, as the manifest says it ("host p50 0.16 ms", "host 0.50 ms/token"). */
    val hostLatency: String
        get() =
            when {
                hostP50Ms != null -> String.format(Locale.US, "host p50 %.2f ms", hostP50Ms)
                hostMsPerToken != null -> String.format(Locale.US, "host %.2f ms/token", hostMsPerToken)
                else -> "host: not timed"
            }

    /** One line for the picker: target, variant, precision, status, host latency beside this device's own p50/p90. */
    fun summary(device: LatencySummary?): String {
        val here =
            device?.let { String.format(Locale.US, "device p50 %.2f ms, p90 %.2f ms (%d runs)", it.p50, it.p90, it.count) }
                ?: "device: not run yet"
        return "$target $variant · $precision · $status · $hostLatency · $here"
    }

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
        platform: String? = null,
    ): List<ModelChoice> {
        val runs = { a: Artifact -> a.target in targets && a.usable && (platform == null || Runtimes.runsOn(a, platform)) }
        val all = if (manifest.translation != null) pairs(manifest, runs) else singles(manifest, runs)
        val verified = all.filter { it.verified }
        val shown = if (includeUnverified || verified.isEmpty()) all else verified
        return shown.sortedWith(
            compareBy<ModelChoice> { if (it.verified) 0 else 1 }
                .thenBy { targets.indexOf(it.target) }
                .thenBy { VARIANT_ORDER.indexOf(it.variant).let { i -> if (i < 0) VARIANT_ORDER.size else i } }
                .thenBy { it.variant },
        )
    }

    /**
     * What the app of [platform] offers: its targets ([Runtimes.appTargets]) without the artifacts
     * it cannot run there (Core ML delegate `.pte` on Android), pairs as units for translation.
     */
    fun forApp(
        manifest: BundleManifest,
        platform: String,
        includeUnverified: Boolean = false,
    ): List<ModelChoice> = of(manifest, Runtimes.appTargets(platform), includeUnverified, platform)

    /** The one line shown when [forApp] offers nothing: what the bundle has, why it cannot run, what to export. */
    fun noneMessage(
        manifest: BundleManifest,
        platform: String,
    ): String {
        val targets = Runtimes.appTargets(platform)
        val wanted = targets.joinToString(" or ") { "${Runtimes.runtimeOf(it)} ($it)" }
        val what = if (manifest.translation != null) "encoder/decoder pair" else "artifact"
        val elsewhere = manifest.artifacts.filter { it.target in targets && it.usable && !Runtimes.runsOn(it, platform) }
        val failed = manifest.artifacts.filter { it.target in targets && it.status == "failed" }
        val why =
            when {
                elsewhere.isNotEmpty() -> {
                    ": ${elsewhere.joinToString { it.label }} cannot run here (${Runtimes.delegateElsewhere(elsewhere[0], platform)})"
                }

                failed.isNotEmpty() -> {
                    ": ${failed.joinToString { it.label }} failed at export"
                }

                else -> {
                    ""
                }
            }
        val fix =
            if (platform ==
                Runtimes.ANDROID
            ) {
                "re-export with the tflite target or an executorch fp32/fp16/int8 variant"
            } else {
                "re-export with the coreml or executorch target"
            }
        return "Bundle '${manifest.name}' has no $wanted $what this app can run$why; $fix."
    }

    private fun singles(
        manifest: BundleManifest,
        runs: (Artifact) -> Boolean,
    ): List<ModelChoice> =
        manifest.artifacts
            .filter { runs(it) && it.graph == null }
            .map { ModelChoice(it.target, it.variant, it.precision, it.status, it.hostP50Ms, mapOf(ModelChoice.SINGLE to it)) }

    private fun pairs(
        manifest: BundleManifest,
        runs: (Artifact) -> Boolean,
    ): List<ModelChoice> {
        // A pair is dropped whole when either half cannot run here (never an encoder of one variant with another's decoder).
        val usable = manifest.artifacts.filter { runs(it) && it.graph != null }
        return usable
            .groupBy { it.target to it.variant }
            .mapNotNull { (key, group) ->
                val encoder = group.firstOrNull { it.graph == "encoder" } ?: return@mapNotNull null
                val decoder = group.firstOrNull { it.graph == "decoder" } ?: return@mapNotNull null
                val status = if (encoder.status == "verified" && decoder.status == "verified") "verified" else "unverified"
                // Per token, the decoder step is what the user waits for.
                ModelChoice(
                    key.first,
                    key.second,
                    decoder.precision,
                    status,
                    decoder.hostP50Ms,
                    mapOf("encoder" to encoder, "decoder" to decoder),
                    decoder.hostMsPerToken ?: encoder.hostMsPerToken,
                )
            }
    }
}
