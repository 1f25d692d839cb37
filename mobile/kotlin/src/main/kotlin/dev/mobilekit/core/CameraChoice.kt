package dev.mobilekit.core

/** Which camera a screen binds: the back one when there is one, else the front one, else none. */
enum class Lens { BACK, FRONT }

object CameraChoice {
    /** The lens to bind, or null with [NO_CAMERA] shown instead (the manifest lets camera-less devices install). */
    fun pick(
        hasBack: Boolean,
        hasFront: Boolean,
    ): Lens? =
        when {
            hasBack -> Lens.BACK
            hasFront -> Lens.FRONT
            else -> null
        }

    const val NO_CAMERA = "This device has no camera the app can use; the Translate screen still works."

    /** The one line shown when binding the camera fails (another app holds it, a vendor bug). */
    fun bindFailed(error: Throwable): String = "Could not start the camera: ${Errors.describe(error)}"
}
