package dev.mobilekit.demo

import dev.mobilekit.core.CachedSeq2SeqRunner
import dev.mobilekit.core.ManifestException
import dev.mobilekit.core.ModelChoice
import dev.mobilekit.core.Seq2SeqRunner
import dev.mobilekit.core.TranslationConfig
import dev.mobilekit.core.TranslationText
import dev.mobilekit.core.Translator

/** The Translate screen's model: a [Translator] over one encoder/decoder pair of either runtime. */
object Translators {
    /** XNNPACK threads for a `.pte` pair (as many as LiteRT's CPU path uses for translation). */
    private const val EXECUTORCH_THREADS = 2

    /**
     * The bundle's tokenizer (its tokenizer.json, read per its declared components), the source
     * and output contract, greedy or beam decoding (decoder start, forced tokens) and a runner
     * over [choice]'s pair, all configured from the bundle's manifest; and the backend it runs on.
     * LiteRT pairs run on [TfliteSeq2SeqRunner]; ExecuTorch pairs on the core's
     * [CachedSeq2SeqRunner] over two [ExecuTorchTensorModel]s, the explicit KV cache fed back as
     * the manifest describes it. Call it on the model's worker thread.
     */
    fun load(
        bundle: AssetBundle,
        choice: ModelChoice,
        preferGpu: Boolean,
    ): Pair<Translator, String> {
        val config =
            bundle.manifest.translation
                ?: throw ManifestException("bundle '${bundle.manifest.name}' is not a translation bundle")
        val text = TranslationText.of(bundle.text(config.tokenizer), config)
        val (runner: Seq2SeqRunner, backend) =
            when (choice.target) {
                "tflite" -> {
                    TfliteSeq2SeqRunner(bundle, config, choice, preferGpu).let { it to it.backend }
                }

                "executorch" -> {
                    executorchPair(bundle, choice, config) to ExecuTorchPrograms.backend(EXECUTORCH_THREADS)
                }

                else -> {
                    throw ManifestException("the app runs LiteRT and ExecuTorch pairs; ${choice.label} is ${choice.target}")
                }
            }
        return Translator(text, config, runner) to backend
    }

    private fun executorchPair(
        bundle: AssetBundle,
        choice: ModelChoice,
        config: TranslationConfig,
    ): CachedSeq2SeqRunner {
        val encoderArtifact = choice.artifact("encoder")
        val decoderArtifact = choice.artifact("decoder")
        val encoder = ExecuTorchTensorModel(ExecuTorchPrograms.load(bundle.modelFile(encoderArtifact), encoderArtifact, EXECUTORCH_THREADS), encoderArtifact)
        try {
            val decoder =
                ExecuTorchTensorModel(ExecuTorchPrograms.load(bundle.modelFile(decoderArtifact), decoderArtifact, EXECUTORCH_THREADS), decoderArtifact)
            return CachedSeq2SeqRunner(encoder, decoder, config)
        } catch (e: Throwable) {
            encoder.close() // a failed load leaves nothing open behind it
            throw e
        }
    }
}
