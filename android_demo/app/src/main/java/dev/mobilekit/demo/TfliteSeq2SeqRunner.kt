package dev.mobilekit.demo

import dev.mobilekit.core.Artifact
import dev.mobilekit.core.BeamRunner
import dev.mobilekit.core.BeamStep
import dev.mobilekit.core.DecoderWiring
import dev.mobilekit.core.Feed
import dev.mobilekit.core.ManifestException
import dev.mobilekit.core.ModelChoice
import dev.mobilekit.core.Seq2SeqRunner
import dev.mobilekit.core.TranslationConfig
import dev.mobilekit.core.rewound
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The translation bundle's two TFLite graphs behind the core's [Seq2SeqRunner]: the encoder runs
 * once per sentence, the decoder once per token with its KV cache fed back (`present_*` of one
 * step becomes `past_*` of the next, zeros at step 0), as [DecoderWiring] reads from the manifest.
 * The encoder and decoder are one [ModelChoice]: the pair the SDK verified together, never mixed.
 * As a [BeamRunner] each beam keeps its own copy of the `past_*` buffers (copied in before its
 * step, the `present_*` outputs copied out after), for the core's beam search.
 * Made, run and closed on the Translate screen's model thread ([dev.mobilekit.core.ModelWorker]).
 */
class TfliteSeq2SeqRunner(
    bundle: AssetBundle,
    private val config: TranslationConfig,
    choice: ModelChoice,
    preferGpu: Boolean,
) : Seq2SeqRunner,
    BeamRunner<Map<String, ByteBuffer>> {
    private val encoderArtifact = choice.artifact("encoder")
    private val decoderArtifact = choice.artifact("decoder")
    private val encoder = LiteRtModel.create(bundle.model(encoderArtifact.path), preferGpu, threads = 2)
    private val decoder =
        try {
            LiteRtModel.create(bundle.model(decoderArtifact.path), preferGpu, threads = 2)
        } catch (e: Throwable) {
            encoder.close() // a failed load leaves nothing open behind it
            throw e
        }
    private val wiring = DecoderWiring.plan(config)
    val backend: String get() = decoder.backend

    // Buffers keyed by the manifest's tensor names.
    private val sourceName: String =
        config.encoderInputs.singleOrNull()?.name
            ?: throw ManifestException("the encoder must take exactly one input (the source ids)")
    private val encoderIn = mapOf(sourceName to encoder.bufferFor(signatureName(encoderArtifact, sourceName, false)))
    private val encoderOut = config.encoderOutputs.associate { it.name to encoder.bufferFor(signatureName(encoderArtifact, it.name, true), true) }
    private val decoderIn = LinkedHashMap<String, ByteBuffer>()
    private val decoderOut = LinkedHashMap<String, ByteBuffer>()

    init {
        for ((name, feed) in wiring.feeds) {
            decoderIn[name] =
                if (feed is Feed.FromEncoder) {
                    encoderOut.getValue(feed.output) // shared: the encoder writes, the decoder reads
                } else {
                    decoder.bufferFor(signatureName(decoderArtifact, name, false))
                }
        }
        for (t in config.decoderOutputs) decoderOut[t.name] = decoder.bufferFor(signatureName(decoderArtifact, t.name, true), true)
    }

    override fun encode(sourceIds: IntArray) {
        val sig = signatureName(encoderArtifact, sourceName, false)
        LiteRtModel.putInts(encoderIn.getValue(sourceName), sourceIds, encoder.inputTensor(sig).dataType())
        encoder.run(bySignature(encoderArtifact, encoderIn, false), bySignature(encoderArtifact, encoderOut, true))
        for ((name, feed) in wiring.feeds) {
            if (feed is Feed.Cache) zero(decoderIn.getValue(name))
        }
    }

    override fun step(
        token: Int,
        position: Int,
    ): FloatArray {
        val logits = run(token, position)
        // The new cache becomes the next step's input: swap the buffers instead of copying.
        for ((name, feed) in wiring.feeds) {
            if (feed is Feed.Cache) {
                val present = decoderOut.getValue(feed.output)
                decoderOut[feed.output] = decoderIn.getValue(name)
                decoderIn[name] = present
            }
        }
        return logits
    }

    override fun initialCache(): Map<String, ByteBuffer> =
        wiring.feeds.filterValues { it is Feed.Cache }.mapValues { (name, _) -> newBuffer(decoderIn.getValue(name).capacity()) }

    override fun step(
        token: Int,
        position: Int,
        cache: Map<String, ByteBuffer>,
    ): BeamStep<Map<String, ByteBuffer>> {
        for ((name, feed) in wiring.feeds) if (feed is Feed.Cache) copy(cache.getValue(name), decoderIn.getValue(name))
        val logits = run(token, position)
        val next = LinkedHashMap<String, ByteBuffer>()
        for ((name, feed) in wiring.feeds) {
            if (feed is Feed.Cache) {
                val present = decoderOut.getValue(feed.output)
                next[name] = copy(present, newBuffer(present.capacity()))
            }
        }
        return BeamStep(logits, next)
    }

    /** One decoder step on the current `past_*` buffers: token and position in, the logits out. */
    private fun run(
        token: Int,
        position: Int,
    ): FloatArray {
        for ((name, feed) in wiring.feeds) {
            val type = decoder.inputTensor(signatureName(decoderArtifact, name, false)).dataType()
            when (feed) {
                Feed.Token -> LiteRtModel.putInts(decoderIn.getValue(name), intArrayOf(token), type)
                Feed.Position -> LiteRtModel.putInts(decoderIn.getValue(name), intArrayOf(position), type)
                else -> Unit
            }
        }
        decoder.run(bySignature(decoderArtifact, decoderIn, false), bySignature(decoderArtifact, decoderOut, true))
        val logitsTensor = decoder.outputTensor(signatureName(decoderArtifact, wiring.logits, true))
        val q = logitsTensor.quantizationParams()
        return LiteRtModel.getFloats(decoderOut.getValue(wiring.logits), logitsTensor.numElements(), logitsTensor.dataType(), q.scale, q.zeroPoint)
    }

    private fun newBuffer(bytes: Int): ByteBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())

    private fun copy(
        from: ByteBuffer,
        to: ByteBuffer,
    ): ByteBuffer {
        to.rewound()
        to.put(from.duplicate().rewound())
        from.rewound()
        return to.rewound()
    }

    override fun close() {
        encoder.close()
        decoder.close()
    }

    private fun signatureName(
        artifact: Artifact,
        name: String,
        output: Boolean,
    ): String = (if (output) artifact.outputs else artifact.inputs).firstOrNull { it.name == name }?.tensor ?: name

    private fun bySignature(
        artifact: Artifact,
        buffers: Map<String, ByteBuffer>,
        output: Boolean,
    ): Map<String, Any> = buffers.entries.associate { (name, buffer) -> signatureName(artifact, name, output) to buffer.rewound() }

    private fun zero(buffer: ByteBuffer) {
        buffer.rewound()
        while (buffer.hasRemaining()) buffer.put(0)
        buffer.rewound()
    }
}
