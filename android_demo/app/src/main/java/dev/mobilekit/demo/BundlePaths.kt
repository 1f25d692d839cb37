package dev.mobilekit.demo

/**
 * Every bundle path the app names, relative to the APK's assets (`app/src/main/assets/`).
 * `mobilekit scaffold android --bundle dist/NAME` puts bundle NAME in `bundles/NAME/`; every
 * other file (models, labels, tokenizer) is found through the manifest.
 */
object BundlePaths {
    /** Where scaffolded bundles live: the Camera screen offers every image classifier found here. */
    const val BUNDLES = "bundles"

    /** The image classifier of the Camera screen (task `image_classification`), offered first. */
    const val DIGITS_MANIFEST = "bundles/digits/manifest.json"

    /** The encoder/decoder of the Translate screen (task `translation`). */
    const val TRANSLATOR_MANIFEST = "bundles/translator/manifest.json"

    /** The manifest of the bundle scaffolded into folder [name] of [BUNDLES]. */
    fun manifestOf(name: String): String = "$BUNDLES/$name/manifest.json"

    /** The folder of the bundle whose manifest is at [manifestPath]. */
    fun folderOf(manifestPath: String): String = manifestPath.substringBeforeLast('/')
}
