package dev.mobilekit.core

import java.io.File
import java.nio.ByteBuffer
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * What moved into the core for the demo apps (framing, frame-to-tensor mapping, variant and
 * pair selection, error states, the runtime-independent seq2seq runner and the translation
 * benchmark), run on inputs from tests/demo_apps/test_pure_core.py and printed as JSON.
 *
 * Inputs are written by tests/demo_apps/test_android_pure_core.py, which checks the output.
 *
 * Usage: `java -cp check.jar dev.mobilekit.core.PureCoreCheckKt <data folder> <translator bundle>`
 */
fun main(args: Array<String>) {
    require(args.size == 2) { "usage: PureCoreCheck <data folder> <translator bundle>" }
    val dir = File(args[0])
    val out = linkedMapOf<String, Any?>()
    out["framing"] = framing(Json.parse(File(dir, "framing.json").readText()) as List<*>)
    out["plans"] = plans(Json.parse(File(dir, "plans.json").readText()) as List<*>)
    out["rgba"] = rgba(dir)
    // A 224x224 ImageNet-style classifier scaffolded into the app: model size from its manifest, then its framing.
    val imagenet = BundleManifest.parse(File(dir, "classification.json").readText())
    val pre = ImagePreprocessor.forArtifact(imagenet, Choices.of(imagenet, listOf("tflite")).first().artifact())
    val plan = FrameMapping.plan(640, 480, 90, null, 1080, 2200, pre.width, pre.height)
    out["imagenet"] =
        mapOf(
            "model" to listOf(pre.width, pre.height, pre.layout),
            "region" to plan.region.let { listOf(it.x, it.y, it.width, it.height) },
            "guide" to plan.guide(1080, 2200).let { listOf(it.left, it.top, it.width, it.height) },
        )
    out["worker"] = worker()
    out["frame_cost"] = frameCost()
    out["camera"] =
        listOf(true to true, false to true, true to false, false to false).map { (back, front) ->
            CameraChoice.pick(back, front)?.name
        }
    out["camera_failed"] = CameraChoice.bindFailed(IllegalArgumentException("No available camera can be found"))
    out["choices"] =
        listOf("classification.json", "translation.json").associateWith { name ->
            val m = BundleManifest.parse(File(dir, name).readText())
            mapOf(
                "verified" to Choices.of(m, listOf("tflite", "executorch")).map { describe(it) },
                "all" to Choices.of(m, listOf("tflite", "executorch"), includeUnverified = true).map { describe(it) },
                "coreml" to Choices.of(m, listOf("coreml", "executorch")).map { describe(it) },
                "summaries" to
                    Choices.of(m, listOf("tflite")).map {
                        it.summary(null) + " | " + it.summary(Stats.summarize(doubleArrayOf(1.0, 2.0, 3.0, 4.0)))
                    },
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

private fun plans(cases: List<*>): List<Map<String, Any?>> =
    cases.map { c ->
        val m = c as Map<*, *>

        fun i(k: String) = (m[k] as Number).toInt()
        val crop = (m["crop"] as? List<*>)?.map { (it as Number).toInt() }?.let { CropRegion(it[0], it[1], it[2], it[3]) }
        val plan = FrameMapping.plan(i("frame_w"), i("frame_h"), i("rotation"), crop, i("view_w"), i("view_h"), i("model_w"), i("model_h"))
        val guide = plan.guide(i("view_w"), i("view_h"))
        linkedMapOf(
            "upright" to listOf(plan.uprightWidth, plan.uprightHeight),
            "visible" to plan.visible.let { listOf(it.x, it.y, it.width, it.height) },
            "region" to plan.region.let { listOf(it.x, it.y, it.width, it.height) },
            "guide" to listOf(guide.left, guide.top, guide.width, guide.height),
        )
    }

/** A probe model that records the thread that made it and the one that closed it. */
private class Probe(
    val fails: Boolean = false,
) : AutoCloseable {
    val madeOn: String = Thread.currentThread().name
    var closedOn: String? = null

    init {
        if (fails) throw IllegalArgumentException("Internal error: failed to apply delegate")
    }

    override fun close() {
        closedOn = Thread.currentThread().name
    }
}

/** The one-thread-per-model worker, driven as the app drives it, with a stand-in main thread. */
private fun worker(): Map<String, Any?> {
    val main = Executors.newSingleThreadExecutor { r -> Thread(r, "main") }
    val w = ModelWorker<Probe>("model-digits") { main.execute(it) }
    val out = linkedMapOf<String, Any?>()

    fun <T> await(start: ((Result<T>) -> Unit) -> Unit): Map<String, Any?> {
        val q = LinkedBlockingQueue<Pair<Result<T>, String>>()
        start { q.put(it to Thread.currentThread().name) }
        val (r, thread) = q.poll(10, TimeUnit.SECONDS) ?: error("no result delivered")
        return linkedMapOf(
            "ok" to r.isSuccess,
            "value" to r.getOrNull()?.toString(),
            "error" to r.exceptionOrNull()?.let { Errors.describe(it) },
            "delivered_on" to thread,
            "busy_after" to w.isBusy,
        )
    }
    val probes = ArrayList<Probe>()
    out["call"] = await<String> { done -> w.call({ Thread.currentThread().name }, done) }
    out["load"] = await<Probe> { done -> w.load({ Probe().also { probes += it } }, done) }
    out["run"] = await<String> { done -> w.run({ p -> "${p.madeOn}|${Thread.currentThread().name}" }, done) }
    out["job_error"] = await<String> { done -> w.run({ _ -> throw IllegalStateException("tokenizer: bad id 9999") }, done) }
    out["oom"] = await<String> { done -> w.run({ _ -> throw OutOfMemoryError("Java heap space") }, done) }
    out["after_error"] = await<String> { done -> w.run({ p -> p.madeOn }, done) }
    // A second request while one runs is refused (the caller drops it), and busy clears after.
    val gate = CountDownLatch(1)
    val slow = LinkedBlockingQueue<Result<String>>()
    val first = w.run({ _ -> gate.await(10, TimeUnit.SECONDS).toString() }) { slow.put(it) }
    val second = w.run({ _ -> "ran" }) { slow.put(it) }
    val busyWhileRunning = w.isBusy
    gate.countDown()
    out["busy"] =
        mapOf("first" to first, "second" to second, "busy_while_running" to busyWhileRunning, "first_result" to slow.poll(10, TimeUnit.SECONDS)?.getOrNull())
    // The camera analyzer runs on the worker's executor and calls the model there.
    val here = LinkedBlockingQueue<Result<String>>()
    w.executor.execute { here.put(w.onWorkerThread { p -> p.madeOn + "|" + Thread.currentThread().name }) }
    w.executor.execute { here.put(w.onWorkerThread { _ -> throw IllegalArgumentException("bad frame") }) }
    out["on_worker"] =
        listOf(here.poll(10, TimeUnit.SECONDS), here.poll(10, TimeUnit.SECONDS)).map { r ->
            r?.getOrNull() ?: r?.exceptionOrNull()?.let { Errors.describe(it) }
        }
    out["off_worker"] = runCatching { w.onWorkerThread { p -> p.madeOn } }.exceptionOrNull()?.let { Errors.describe(it) }
    // A failing load (the GPU delegate refusing the model) leaves no model, then a reload recovers.
    out["load_error"] = await<Probe> { done -> w.load({ Probe(fails = true) }, done) }
    out["run_without_model"] = await<String> { done -> w.run({ p -> p.madeOn }, done) }
    out["reload"] = await<Probe> { done -> w.load({ Probe().also { probes += it } }, done) }
    out["has_model"] = w.hasModel
    val choice = ModelChoice("tflite", "fp16", "fp16", "verified", null, emptyMap())
    val states = LinkedBlockingQueue<String>()
    w.loadChoice(choice, { p -> "gpu on ${p.madeOn}" }, { Probe().also { probes += it } }) { states.put(it.toString()) }
    w.loadChoice(choice, { "never" }, { Probe(fails = true) }) { states.put(it.toString()) }
    out["choice_states"] = listOf(states.poll(10, TimeUnit.SECONDS), states.poll(10, TimeUnit.SECONDS))
    out["reload_after_choice"] = await<Probe> { done -> w.load({ Probe().also { probes += it } }, done) }
    w.close()
    out["after_close"] = await<String> { done -> w.run({ p -> p.madeOn }, done) }
    out["load_after_close"] = await<Probe> { done -> w.load({ Probe() }, done) }
    w.executor.awaitTermination(10, TimeUnit.SECONDS)
    out["closed_on"] = probes.map { it.closedOn }
    out["made_on"] = probes.map { it.madeOn }
    main.shutdown()
    return out
}

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
        "bench_result" to translationResult(bundle, manifest, bench),
        "bench_exact" to bench.tokenExact,
        "bench_sentences" to bench.sentences,
        "bench_steps" to bench.timings.runsMs.size,
        "bench_encoder_runs" to bench.encoderMs.size,
        "wrong_dtype" to wrongDtype,
    )
}

/** The harness's document for one pair, as ModelBenchmarkTest writes it: per-token runs, the decoder's file and sha256. */
private fun translationResult(
    bundle: File,
    manifest: BundleManifest,
    bench: TranslationBench.Outcome,
): Map<String, Any?> {
    val pair = Choices.of(manifest, listOf("tflite"), includeUnverified = true).first()
    val decoder = pair.artifact("decoder")
    val runs = RunConfig("cpu", "xnnpack", null, 2, 0, bench.timings.runsMs.size, "golden sentences, per token")
    val device = DeviceInfo("linux", "jvm", System.getProperty("os.name"), Runtime.getRuntime().availableProcessors())
    val doc =
        BenchResult(
            "mobilekit android harness (androidx.test)",
            device,
            "litert",
            "test",
            decoder,
            Sha256.of(File(bundle, decoder.path)),
            runs,
            "ok",
            null,
            bench.timings,
        )
    @Suppress("UNCHECKED_CAST")
    return Json.parse(doc.toJson()) as Map<String, Any?>
}

/**
 * What reading one 640x480 camera frame into a model input costs on this JVM: heap bytes
 * allocated per frame (the app's path must not copy the frame) and the mean time, after warm-up.
 */
private fun frameCost(): Map<String, Any?> {
    val w = 640
    val h = 480
    val stride = w * 4 + 64
    val frame = ByteBuffer.allocateDirect(stride * h)
    for (i in 0 until frame.capacity()) frame.put(i, (i * 31).toByte())
    val pre = Preprocessing(floatArrayOf(0.485f, 0.456f, 0.406f), floatArrayOf(0.229f, 0.224f, 0.225f), 1f / 255f, "RGB")
    val mx =
        java.lang.management.ManagementFactory
            .getThreadMXBean() as com.sun.management.ThreadMXBean
    val me = Thread.currentThread().id
    return listOf(32, 224).associate { size ->
        val model = ImagePreprocessor(size, size, "NHWC", pre)
        val out = FloatArray(model.size)
        val plan = FrameMapping.plan(w, h, 90, null, 1080, 2200, size, size)
        repeat(30) { model.processRgba(frame, w, h, stride, 90, plan.region, out) }
        val frames = 50
        val bytes0 = mx.getThreadAllocatedBytes(me)
        val t0 = System.nanoTime()
        repeat(frames) { model.processRgba(frame, w, h, stride, 90, plan.region, out) }
        val ms = (System.nanoTime() - t0) / 1e6 / frames
        val bytes = (mx.getThreadAllocatedBytes(me) - bytes0) / frames
        "$size" to mapOf("bytes_per_frame" to bytes, "ms_per_frame" to ms, "frame_bytes" to stride * h)
    }
}
