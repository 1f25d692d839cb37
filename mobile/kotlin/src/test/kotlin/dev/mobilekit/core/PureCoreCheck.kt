package dev.mobilekit.core

import java.io.File
import java.nio.ByteBuffer

/**
 * What moved into the core for the demo apps (framing, frame-to-tensor mapping, variant and
 * pair selection, error states, the runtime-independent seq2seq runner and the translation
 * benchmark), run on inputs from tests/demo_apps/test_pure_core.py and printed as JSON.
 *
 * Usage: `java -cp check.jar dev.mobilekit.core.PureCoreCheckKt <data folder> <translator bundle>`
 */
fun main(args: Array<String>) {
    require(args.size == 2) { "usage: PureCoreCheck <data folder> <translator bundle>" }
    val dir = File(args[0])
    val out = linkedMapOf<String, Any?>()
    out["framing"] = framing(Json.parse(File(dir, "framing.json").readText()) as List<*>)
    out["rgba"] = rgba(dir)
    out["choices"] =
        listOf("classification.json", "translation.json").associateWith { name ->
            val m = BundleManifest.parse(File(dir, name).readText())
            mapOf(
                "verified" to Choices.of(m, listOf("tflite", "executorch")).map { describe(it) },
                "all" to Choices.of(m, listOf("tflite", "executorch"), includeUnverified = true).map { describe(it) },
                "coreml" to Choices.of(m, listOf("coreml", "executorch")).map { describe(it) },
            )
        }
    out["errors"] =
        listOf(
            ManifestException("bundle 'x' has no usable tflite artifact"),
            IllegalArgumentException("Internal error: failed to apply delegate\nat line 2"),
            RuntimeException(IllegalStateException("no GPU")),
            OutOfMemoryError(),
        ).map { Errors.describe(it) }
    out["states"] = listOf(ModelState.failed("Loading tflite fp32", IllegalArgumentException("bad model")).message)
    out["seq2seq"] = seq2seq(File(args[1]))
    print(Json.write(out, indent = 0))
}

private fun describe(c: ModelChoice): Map<String, Any?> =
    linkedMapOf(
        "target" to c.target,
        "variant" to c.variant,
        "status" to c.status,
        "precision" to c.precision,
        "host_p50_ms" to c.hostP50Ms,
        "paths" to c.artifacts.mapValues { it.value.path },
    )

private fun framing(cases: List<*>): List<Map<String, Any?>> =
    cases.map { c ->
        val m = c as Map<*, *>

        fun i(k: String) = (m[k] as Number).toInt()
        val (w, h) = FrameMapping.uprightSize(i("frame_w"), i("frame_h"), i("rotation"))
        val visible = FrameMapping.visibleRegion(w, h, i("view_w"), i("view_h"))
        val region = FrameMapping.modelRegion(w, h, i("view_w"), i("view_h"), i("model_w"), i("model_h"))
        val guide = FrameMapping.toView(region, w, h, i("view_w"), i("view_h"))
        linkedMapOf(
            "upright" to listOf(w, h),
            "visible" to listOf(visible.x, visible.y, visible.width, visible.height),
            "region" to listOf(region.x, region.y, region.width, region.height),
            "guide" to listOf(guide.left, guide.top, guide.width, guide.height),
        )
    }

/** A sensor frame with row padding, read at each rotation with a crop: compared with NumPy. */
private fun rgba(dir: File): Map<String, Any?> {
    val spec = Json.parse(File(dir, "rgba.json").readText()) as Map<*, *>
    val w = (spec["width"] as Number).toInt()
    val h = (spec["height"] as Number).toInt()
    val stride = (spec["row_stride"] as Number).toInt()
    val bytes = File(dir, "rgba.bin").readBytes()
    val buffer = ByteBuffer.allocateDirect(bytes.size).put(bytes)
    buffer.rewind()
    val pre = Preprocessing(floatArrayOf(0.5f, 0.5f, 0.5f), floatArrayOf(0.5f, 0.5f, 0.5f), 1f / 255f, "RGB")
    val out = linkedMapOf<String, Any?>()
    for (rotation in listOf(0, 90, 180, 270)) {
        val (uw, uh) = FrameMapping.uprightSize(w, h, rotation)
        val crop = FrameMapping.centerCrop(uw, uh, 1, 1)
        val model = ImagePreprocessor(5, 5, "NCHW", pre)
        val reused = FloatArray(model.size)
        model.processRgba(buffer, w, h, stride, rotation, crop, reused)
        out["$rotation"] = mapOf("crop" to listOf(crop.x, crop.y, crop.width, crop.height), "values" to reused.map { it.toDouble() })
    }
    out["bad_stride"] =
        runCatching { ImagePreprocessor(5, 5, "NCHW", pre).processRgba(buffer, w, h, w * 4 - 1, 0, CropRegion(0, 0, 2, 2)) }
            .exceptionOrNull()
            ?.let { Errors.describe(it) }
    return out
}

/** An encoder and a decoder that check what the runner feeds them and replay golden ids. */
private class FakeEncoder(
    private val config: TranslationConfig,
) : TensorModel {
    val dtypes = ArrayList<String>()

    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val ids = inputs.values.single()
        dtypes += ids.dtype
        return config.encoderOutputs.associate { t ->
            // The first value of each output carries the sum of the ids, so the decoder can see it.
            val values = FloatArray(t.shape.fold(1) { a, b -> a * b })
            values[0] = ids.asFloats().sum()
            t.name to TensorData.f32(values, t.shape)
        }
    }
}

private class FakeDecoder(
    private val config: TranslationConfig,
    private val script: () -> IntArray,
) : TensorModel {
    val seen = ArrayList<Map<String, Any?>>()

    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val position = inputs.getValue("position").asFloats()[0].toInt()
        val token = inputs.getValue("token")
        val past = inputs.getValue("past_keys").asFloats()
        seen +=
            mapOf(
                "position" to position,
                "token" to token.asFloats()[0].toInt(),
                "token_dtype" to token.dtype,
                "past0" to past[0].toDouble(),
                "cross0" to inputs.getValue("cross_keys").asFloats()[0].toDouble(),
            )
        val ids = script()
        val logits = FloatArray(config.vocabSize)
        logits[ids.getOrElse(position) { config.special.eos }] = 1f
        val out = linkedMapOf<String, TensorData>()
        for (t in config.decoderOutputs) {
            out[t.name] =
                if (t.name.startsWith("present_")) {
                    val next = inputs.getValue("past_" + t.name.removePrefix("present_")).asFloats().copyOf()
                    next[0] += 1f // one more step written into the cache
                    TensorData.f32(next, t.shape)
                } else {
                    TensorData.f32(logits, t.shape)
                }
        }
        return out
    }
}

private fun seq2seq(bundle: File): Map<String, Any?> {
    val manifest = BundleManifest.parse(File(bundle, "manifest.json").readText())
    val config = manifest.translation ?: error("not a translation bundle")
    val golden = TranslationGolden.parse(File(bundle, manifest.goldenDir + "/" + TranslationGolden.FILE).readText())
    var current = golden.samples[0].outputIds
    val encoder = FakeEncoder(config)
    val decoder = FakeDecoder(config) { current }
    val runner = CachedSeq2SeqRunner(encoder, decoder, config)
    val first = GreedyDecoder(config).decode(runner, golden.samples[0].sourceIds)
    val firstSeen = ArrayList(decoder.seen)
    // The benchmark over every golden sentence: the fake replays each sentence's ids.
    val order = golden.samples.iterator()
    val bench =
        TranslationBench.measure(config, golden, warmupSentences = 0, init = {}, load = {
            object : Seq2SeqRunner {
                override fun encode(sourceIds: IntArray) {
                    current = golden.samples.first { it.sourceIds.contentEquals(sourceIds) }.outputIds
                    runner.encode(sourceIds)
                }

                override fun step(
                    token: Int,
                    position: Int,
                ): FloatArray = runner.step(token, position)
            }
        })
    check(order.hasNext())
    val wrongDtype =
        runCatching { TensorData.ids(intArrayOf(1), intArrayOf(1), "float32") }.exceptionOrNull()?.let { Errors.describe(it) }
    return linkedMapOf(
        "generated" to first.ids.toList(),
        "fed" to firstSeen,
        "encoder_dtypes" to encoder.dtypes.distinct(),
        "source_dtype" to config.encoderInputs.single().dtype,
        "bench_exact" to bench.tokenExact,
        "bench_sentences" to bench.sentences,
        "bench_steps" to bench.timings.runsMs.size,
        "bench_encoder_runs" to bench.encoderMs.size,
        "wrong_dtype" to wrongDtype,
    )
}
