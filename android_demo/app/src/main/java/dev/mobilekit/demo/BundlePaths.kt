package dev.mobilekit.demo

/**
 * Every bundle path the app names, relative to the APK's assets (`app/src/main/assets/`).
 * `mobilekit scaffold android --bundle dist/NAME` puts bundle NAME in `bundles/NAME/`; every
 * other file (models, labels, tokenizer) is found through the manifest.
 */
object BundlePaths {
    /** The image classifier of the Camera screen (task `image_classification`). */
    const val DIGITS_MANIFEST = "bundles/digits/manifest.json"

    /** The encoder/decoder of the Translate screen (task `translation`). */
    const val TRANSLATOR_MANIFEST = "bundles/translator/manifest.json"

    /** The folder of the bundle whose manifest is at [manifestPath]. */
    fun folderOf(manifestPath: String): String = manifestPath.substringBeforeLast('/')
}
