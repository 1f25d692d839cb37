package dev.mobilekit.core

/** Where each decoder-step input comes from, decided once from the manifest's tensor lists. */
sealed interface Feed {
    /** The previous token (`<bos>` at step 0). */
    data object Token : Feed

    /** The 0-based step index. */
    data object Position : Feed

    /** An encoder output of the same name (cross-attention keys/values, source bias...). */
    data class FromEncoder(
        val output: String,
    ) : Feed

    /** A KV cache: zeros at step 0, then the decoder's own [output] of the previous step. */
    data class Cache(
        val output: String,
    ) : Feed
}

/**
 * The translation contract's wiring between the encoder, the decoder step and its cache:
 * `token` / `position` by name, inputs named like an encoder output come from the encoder, and
 * `past_X` is fed with the previous step's `present_X`.
 */
class DecoderWiring(
    val feeds: Map<String, Feed>,
    val logits: String,
) {
    companion object {
        private val TOKEN = setOf("token", "tokens", "input_ids", "decoder_input_ids")
        private val POSITION = setOf("position", "positions", "step")

        fun plan(config: TranslationConfig): DecoderWiring {
            val encoderOutputs = config.encoderOutputs.map { it.name }.toSet()
            val decoderOutputs = config.decoderOutputs.map { it.name }
            val feeds = LinkedHashMap<String, Feed>()
            for (input in config.decoderInputs) {
                val n = input.name
                feeds[n] =
                    when {
                        n in TOKEN -> {
                            Feed.Token
                        }

                        n in POSITION -> {
                            Feed.Position
                        }

                        n in encoderOutputs -> {
                            Feed.FromEncoder(n)
                        }

                        n.startsWith("past_") && "present_" + n.removePrefix("past_") in decoderOutputs -> {
                            Feed.Cache("present_" + n.removePrefix("past_"))
                        }

                        else -> {
                            throw ManifestException("decoder input '$n' is not a token, position, encoder output or past_* cache")
                        }
                    }
            }
            val logits =
                decoderOutputs.firstOrNull { it == "logits" } ?: decoderOutputs.firstOrNull()
                    ?: throw ManifestException("the decoder has no outputs")
            return DecoderWiring(feeds, logits)
        }
    }
}
