package dev.mobilekit.core

/** What a screen shows about its model; every worker path ends in one of these, never a crash. */
sealed interface ModelState {
    data object Idle : ModelState

    data class Loading(
        val what: String,
    ) : ModelState

    data class Ready(
        val choice: ModelChoice,
        val backend: String,
        val loadMs: Double,
    ) : ModelState

    /** [message] is one line for the screen; the user can pick another variant or retry. */
    data class Failed(
        val message: String,
    ) : ModelState

    companion object {
        fun failed(
            doing: String,
            error: Throwable,
        ): Failed = Failed("$doing failed: ${Errors.describe(error)}")
    }
}

object Errors {
    /** One line naming what went wrong (no stack trace); the cause's message when there is one. */
    fun describe(error: Throwable): String {
        if (error is OutOfMemoryError) return "out of memory (try a smaller variant)"
        var e: Throwable = error
        // A wrapper with no message of its own (or only its cause's toString()) says nothing: use the cause.
        while (e.cause != null && e.cause !== e && (e.message.isNullOrBlank() || e.message == e.cause.toString())) e = e.cause!!
        val text =
            e.message
                ?.lineSequence()
                ?.firstOrNull { it.isNotBlank() }
                ?.trim()
        val what = if (e is ManifestException || e is IllegalStateException) text else listOfNotNull(e.javaClass.simpleName, text).joinToString(": ")
        return (what ?: e.javaClass.simpleName).take(MAX)
    }

    private const val MAX = 200
}
