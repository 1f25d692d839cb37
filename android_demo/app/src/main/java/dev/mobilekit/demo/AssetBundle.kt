package dev.mobilekit.demo

import android.content.Context
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.BundleManifest
import dev.mobilekit.core.ModelFiles
import org.tensorflow.lite.support.common.FileUtil
import java.io.File
import java.io.FileNotFoundException
import java.nio.MappedByteBuffer

/** A scaffolded bundle inside the APK's assets: its manifest and its files. */
class AssetBundle(
    private val context: Context,
    manifestPath: String,
) {
    private val folder = BundlePaths.folderOf(manifestPath)
    val manifest: BundleManifest = BundleManifest.parse(readText(context, manifestPath))

    fun text(relative: String): String = readText(context, "$folder/$relative")

    /** A model file memory-mapped from the APK (possible because tflite files are not compressed). */
    fun model(relative: String): MappedByteBuffer = FileUtil.loadMappedFile(context, "$folder/$relative")

    /**
     * [artifact] as a file path (ExecuTorch loads programs from a path, not an asset): copied
     * into the app's files once, named and checked by the manifest's sha256; copies no artifact
     * of this manifest names any more are removed. Call it on the model's worker thread.
     */
    fun modelFile(artifact: Artifact): File {
        val dir = File(context.filesDir, "models/${folder.substringAfterLast('/')}")
        ModelFiles.prune(dir, manifest.artifacts)
        return ModelFiles.materialize(dir, artifact) { context.assets.open("$folder/${artifact.path}") }
    }

    companion object {
        /**
         * Every scaffolded image-classification bundle (digits first, then by name), or the
         * reason there is none. Reads manifests: call it off the main thread.
         */
        fun classifiers(context: Context): Result<List<AssetBundle>> {
            val names =
                context.assets
                    .list(BundlePaths.BUNDLES)
                    ?.sorted()
                    .orEmpty()
            val found =
                names
                    .mapNotNull { open(context, BundlePaths.manifestOf(it)).getOrNull() }
                    .filter { it.manifest.task == "image_classification" }
                    .sortedBy { if (it.manifest.name == "digits") "" else it.manifest.name }
            if (found.isNotEmpty()) return Result.success(found)
            // No classifier: say what to scaffold (the digits bundle's own message).
            return open(context, BundlePaths.DIGITS_MANIFEST).map { listOf(it) }
        }

        /** The bundle, or the reason it cannot be used (not scaffolded into this build, or a bad manifest). */
        fun open(
            context: Context,
            manifestPath: String,
        ): Result<AssetBundle> =
            try {
                Result.success(AssetBundle(context, manifestPath))
            } catch (e: FileNotFoundException) {
                val name = BundlePaths.folderOf(manifestPath).substringAfterLast('/')
                Result.failure(
                    IllegalStateException(
                        "No '$name' bundle in this build. Run `mobilekit scaffold android --bundle dist/$name` and rebuild.",
                        e,
                    ),
                )
            } catch (e: Exception) {
                Result.failure(IllegalStateException("The bundle at $manifestPath cannot be read: ${e.message}", e))
            }

        private fun readText(
            context: Context,
            path: String,
        ): String = context.assets.open(path).use { it.readBytes().toString(Charsets.UTF_8) }
    }
}
