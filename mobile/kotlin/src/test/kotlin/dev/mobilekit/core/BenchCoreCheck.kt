package dev.mobilekit.core

import java.io.File

/**
 * The benchmark harness's side of the core (statistics, .npy, layouts, quantization, sha256,
 * golden inputs, memory, the result document), printed as JSON for tests/bench/test_harness.py.
 *
 * Usage: `java -cp check.jar dev.mobilekit.core.BenchCoreCheckKt <data folder>`
 */
fun main(args: Array<String>) {
    val dir = File(args[0])
    val runs = (Json.parse(File(dir, "runs.json").readText()) as List<*>).map { (it as Number).toDouble() }.toDoubleArray()
    val f32 = Npy.parse(File(dir, "f32.npy").readBytes()).sample(1)
    val manifest = BundleManifest.parse(File(dir, "bundle/manifest.json").readText())
    val art = manifest.artifacts.first { it.target == "tflite" }
    val golden = Golden.load { File(dir, "golden/$it").readBytes() }
    val mem = PeakMemory()
    mem.reset()
    val big = ByteArray(120_000_000) { 1 }
    val m = mem.result()
    val session =
        object : BenchSession {
            override fun infer(sample: Int) {
                Thread.sleep(1)
            }

            override fun close() {}
        }
    val timings = BenchProtocol(2, 5).measure(init = {}, load = { session })
    val result =
        BenchResult(
            "kotlin check",
            DeviceInfo("linux", "jvm", "Linux", 2),
            "litert",
            "1.4.0",
            art,
            Sha256.of(File(dir, "bundle/" + art.path)),
            RunConfig("cpu", "xnnpack", null, 2, 2, 5),
            "ok",
            null,
            timings,
        )
    val out =
        linkedMapOf(
            "latency" to Stats.latency(runs).toMap(),
            "f32_shape" to f32.shape.toList(),
            "f32_sample1" to f32.floats().map { it.toDouble() },
            "nhwc" to Tensors.nchwToNhwc(f32.floats(), f32.shape).map { it.toDouble() },
            "i64" to Npy.parse(File(dir, "i64.npy").readBytes()).longs().toList(),
            "u8" to Npy.parse(File(dir, "u8.npy").readBytes()).floats().map { it.toDouble() },
            "quantized" to Tensors.quantize(floatArrayOf(-1f, 0f, 0.52f, 10f, -20f), 0.05f, 3, -128, 127).toList(),
            "sha_dir" to Sha256.of(File(dir, "pkg")),
            "golden_samples" to golden.samples,
            "golden_input" to golden.input("image", 2).floats().map { it.toDouble() },
            "memory" to m.toMap(),
            "big" to big.size,
            "result" to result.toMap(),
            "file_name" to result.fileName(),
            "roundtrip" to Json.parse(Json.write(Json.parse(File(dir, "sample.json").readText()))),
        )
    println(Json.write(out))
}
