package dev.mobilekit.core

import java.io.File

/**
 * Runs the core on a bundle's golden vectors and prints what it computed as JSON, for the
 * Python tests to compare with NumPy and Hugging Face `tokenizers` (plain JVM, no test framework:
 * it is compiled with kotlinc alone).
 *
 * Usage: `java -jar check.jar <digits bundle> <translator bundle> <latencies.json>`
 */
fun main(args: Array<String>) {
    require(args.size == 3) { "usage: check <digits bundle> <translator bundle> <latencies.json>" }
    val out = linkedMapOf<String, Any?>()
    out["digits"] = checkDigits(File(args[0]))
    out["translator"] = checkTranslator(File(args[1]))
    val runs = (Json.parse(File(args[2]).readText()) as List<*>).map { (it as Number).toDouble() }.toDoubleArray()
    val s = Stats.summarize(runs)
    val window = LatencyWindow(capacity = 10)
    runs.forEach { window.add(it) }
    out["latency"] = mapOf("mean" to s.mean, "p50" to s.p50, "p90" to s.p90, "min" to s.min, "max" to s.max, "count" to s.count)
    out["window_count"] = window.summary()?.count
    print(Json.write(out, indent = 0))
}

private fun checkDigits(dir: File): Map<String, Any?> {
    val manifest = BundleManifest.parse(File(dir, "manifest.json").readText())
    val spec = manifest.inputs.first()
    val pre = spec.preprocessing!!
    val golden = File(dir, manifest.golden ?: "assets/golden/")
    val index = Json.parse(File(golden, "index.json").readText()) as Map<*, *>
    val pixelsFile = ((index["pixels"] as Map<*, *>)[spec.name] as Map<*, *>)["file"] as String
    val pixels = Npy.parse(File(golden, pixelsFile).readBytes())
    val (n, h, w) = Triple(pixels.shape[0], pixels.shape[1], pixels.shape[2])
    // NCHW as the golden inputs are stored; and the layout of the artifact the app would run
    val nchw = ImagePreprocessor(w, h, "NCHW", pre)
    val tflite = manifest.artifacts.firstOrNull { it.target == "tflite" && it.usable }
    val appPre = tflite?.let { ImagePreprocessor.forArtifact(manifest, it) }
    val processed = ArrayList<Double>()
    val processedApp = ArrayList<Double>()
    for (i in 0 until n) {
        val argb = ImagePreprocessor.argbFromRgb(pixels.sample(i).floats())
        nchw.process(argb, w, h).forEach { processed += it.toDouble() }
        appPre?.process(argb, w, h)?.forEach { processedApp += it.toDouble() }
    }
    // A larger, non-square frame: the crop + bilinear path, compared with NumPy.
    val big = IntArray(48 * 40) { i -> (0xFF shl 24) or ((i * 7 % 256) shl 16) or ((i * 13 % 256) shl 8) or (i * 29 % 256) }
    val resized = ImagePreprocessor(16, 16, "NHWC", pre).process(big, 48, 40)
    val logitsFile = ((index["outputs"] as Map<*, *>)[manifest.outputs.first().name] as Map<*, *>)["file"] as String
    val logits = Npy.parse(File(golden, logitsFile).readBytes())
    val labels = TopK.parseLabels(File(dir, manifest.outputs.first().labels!!).readText())
    val top =
        (0 until logits.shape[0]).map { i ->
            TopK.of(logits.sample(i).floats(), 3, labels).map { mapOf("index" to it.index, "label" to it.label, "p" to it.probability) }
        }
    return linkedMapOf(
        "name" to manifest.name,
        "task" to manifest.task,
        "version" to manifest.version,
        "input" to
            mapOf(
                "name" to spec.name,
                "shape" to spec.shape.toList(),
                "mean" to pre.mean.toList(),
                "std" to pre.std.toList(),
                "scale" to pre.scale,
                "color" to pre.color,
            ),
        "labels_path" to manifest.outputs.first().labels,
        "labels" to labels,
        "artifacts" to manifest.artifacts.map { listOf(it.target, it.variant, it.path, it.layout, it.status) },
        "chosen_tflite" to tflite?.let { manifest.artifact("tflite").path },
        "app_preprocessor" to appPre?.let { mapOf("width" to it.width, "height" to it.height, "layout" to it.layout) },
        "processed_nchw" to processed,
        "processed_app" to processedApp,
        "resized_16_from_48x40" to resized.map { it.toDouble() },
        "top3" to top,
    )
}

/** Replays recorded decoder logits; remembers what it was fed. */
private class ReplayRunner(
    private val steps: NpyArray,
) : Seq2SeqRunner {
    val fed = ArrayList<Int>()
    val positions = ArrayList<Int>()
    var encoded: IntArray? = null
    private val rows = steps.shape[0]
    private val width = steps.shape[1]
    private val all = steps.floats()

    override fun encode(sourceIds: IntArray) {
        encoded = sourceIds.copyOf()
    }

    override fun step(
        token: Int,
        position: Int,
    ): FloatArray {
        check(position < rows) { "decoder asked for step $position of $rows recorded" }
        fed += token
        positions += position
        return all.copyOfRange(position * width, (position + 1) * width)
    }
}

private fun checkTranslator(dir: File): Map<String, Any?> {
    val manifest = BundleManifest.parse(File(dir, "manifest.json").readText())
    val config = manifest.translation ?: error("no translation section")
    val json = File(dir, config.tokenizer).readText()
    val tokenizer = BpeTokenizer.fromJson(json)
    // the app's path: any tokenizer.json read per its components, the manifest's source/output contract
    val app = TranslationText.of(json, config)
    val golden = File(dir, manifest.golden ?: "assets/golden/")
    val doc = Json.parse(File(golden, "translation.json").readText()) as Map<*, *>
    val decoder = GreedyDecoder(config)
    val samples =
        (doc["samples"] as List<*>).map { s ->
            s as Map<*, *>
            val text = s["text"] as String
            val outputIds = (s["output_ids"] as List<*>).map { (it as Number).toInt() }.toIntArray()
            val runner = ReplayRunner(Npy.parse(File(golden, s["step_logits"] as String).readBytes()))
            val source = decoder.sourceIds(tokenizer.encode(text))
            val generation = decoder.decode(runner, source)
            linkedMapOf(
                "tokens" to tokenizer.encode(text).toList(),
                "source_ids" to source.toList(),
                "decoded_output_text" to tokenizer.decode(Generation.textIds(outputIds, config.special)),
                "greedy_ids" to generation.ids.toList(),
                "greedy_text" to tokenizer.decode(generation.tokens(config.special)),
                "fed" to runner.fed,
                "positions" to runner.positions,
                "encoded" to runner.encoded?.toList(),
                "stopped_at_eos" to generation.stoppedAtEos,
                "app_tokens" to app.tokenizer.encode(text).toList(),
                "app_source_ids" to app.sourceIds(text).toList(),
                "app_output_text" to app.outputText(outputIds),
                "app_greedy_text" to app.outputText(generation.ids),
                "step_count" to generation.stepMs.size,
            )
        }
    return linkedMapOf(
        "name" to manifest.name,
        "task" to manifest.task,
        "special" to config.special.let { listOf(it.pad, it.bos, it.eos, it.unk) },
        "vocab_size" to config.vocabSize,
        "max_source_len" to config.maxSourceLen,
        "max_target_len" to config.maxTargetLen,
        "encoder_artifact" to manifest.artifact("tflite", "encoder").path,
        "decoder_artifact" to manifest.artifact("tflite", "decoder").path,
        "decoder_inputs" to config.decoderInputs.map { it.name },
        "wiring" to DecoderWiring.plan(config).let { w -> w.feeds.mapValues { it.value.toString() } + mapOf("<logits>" to w.logits) },
        "samples" to samples,
    )
}
