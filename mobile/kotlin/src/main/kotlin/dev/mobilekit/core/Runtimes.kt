package dev.mobilekit.core

/**
 * Which runtime runs which artifact of a bundle on a platform. The rule that a `.pte` holding
 * Core ML delegate blobs cannot run on Android is the Python side's too
 * (mobilekit/bench/harness.py `delegate_elsewhere`): scaffold, the harnesses and the apps agree.
 */
object Runtimes {
    const val ANDROID = "android"
    const val IOS = "ios"

    /** The targets each demo app runs, in its order of preference. */
    val APP_TARGETS: Map<String, List<String>> =
        mapOf(
            ANDROID to listOf("tflite", "executorch"),
            IOS to listOf("coreml", "executorch"),
        )

    /** The targets the app of [platform] runs (tflite + executorch on Android). */
    fun appTargets(platform: String): List<String> = APP_TARGETS[platform] ?: throw ManifestException("unknown platform '$platform' (android or ios)")

    /** The runtime of [target] as the picker names it. */
    fun runtimeOf(target: String): String =
        when (target) {
            "tflite" -> "LiteRT"
            "executorch" -> "ExecuTorch"
            "coreml" -> "Core ML"
            "onnx" -> "ONNX Runtime"
            else -> target
        }

    /** Why [platform] cannot run [artifact] although its target is one the app runs, else null. */
    fun delegateElsewhere(
        artifact: Artifact,
        platform: String,
    ): String? {
        if (platform == ANDROID && artifact.target == "executorch") {
            // The executorch-android AAR links XNNPACK and the CPU kernels, no Core ML backend.
            if (artifact.backend == "CoreMLBackend" || artifact.variant.startsWith("coreml")) return APPLE_ONLY
        }
        return null
    }

    fun runsOn(
        artifact: Artifact,
        platform: String,
    ): Boolean = delegateElsewhere(artifact, platform) == null

    const val APPLE_ONLY = "the Core ML delegate runs only on Apple platforms"
}
