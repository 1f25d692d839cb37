package dev.mobilekit.bench

import android.os.Build
import android.util.Log
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.mobilekit.core.Artifact
import dev.mobilekit.core.BenchProtocol
import dev.mobilekit.core.BenchResult
import dev.mobilekit.core.BundleManifest
import dev.mobilekit.core.Choices
import dev.mobilekit.core.DeviceInfo
import dev.mobilekit.core.Golden
import dev.mobilekit.core.RunConfig
import dev.mobilekit.core.Sha256
import dev.mobilekit.core.Stats
import dev.mobilekit.core.TranslationBench
import dev.mobilekit.core.TranslationGolden
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import java.io.File

/**
 * Benchmarks every .tflite (CPU/XNNPACK, GPU, NNAPI), .onnx (CPU, NNAPI) and .pte (ExecuTorch,
 * CPU/XNNPACK; not the Core ML delegate variants, which are Apple-only) artifact of the bundle
 * on this device and writes one `mobilekit.bench/1` JSON file per configuration.
 * A translation bundle is benchmarked per encoder/decoder pair: greedy decoding of every golden
 * sentence with the KV cache, one measured run per decoder step (per-token latency), ids in the
 * manifest's dtypes, and the generated ids checked against the golden ones.
 *
 * Instrumentation arguments (`-e name value`, or Firebase Test Lab `--environment-variables`):
 * `runs` (default 50), `warmup` (5), `threads` (4), `only` (comma-separated targets or
 * target/variant labels), `delegates` (comma-separated: xnnpack,gpu,nnapi,ort-cpu,ort-nnapi,et-xnnpack).
 * Results go to `<external files>/mobilekit-bench/` of the test app; scripts/run_instrumented.sh
 * pulls them.
 */
@RunWith(AndroidJUnit4::class)
class ModelBenchmarkTest {
    private val tag = "MobileKitBench"

    private companion object {
        /** The bundle targets this harness runs, and the runtime (result `runtime.name`) of each. */
        val RUNTIMES = mapOf("tflite" to "litert", "onnx" to "onnxruntime", "executorch" to "executorch")
        val TARGETS = RUNTIMES.keys.toList()
    }

    @Test
    fun benchmarkEveryModel() {
        val instrumentation = InstrumentationRegistry.getInstrumentation()
        val args = InstrumentationRegistry.getArguments()
        val runs = args.getString("runs")?.toInt() ?: 50
        val warmup = args.getString("warmup")?.toInt() ?: 5
        val threads = args.getString("threads")?.toInt() ?: 4
        val only =
            args
                .getString("only")
                ?.split(',')
                ?.map { it.trim() }
                ?.filter { it.isNotEmpty() }
                .orEmpty()
        val wanted = (args.getString("delegates") ?: "xnnpack,gpu,nnapi,ort-cpu,ort-nnapi,et-xnnpack").split(',').map { it.trim() }.toSet()

        val assets = instrumentation.context.assets
        val cache = File(instrumentation.targetContext.cacheDir, "mobilekit-bundle")
        val outDir = File(instrumentation.targetContext.getExternalFilesDir(null), "mobilekit-bench")
        outDir.mkdirs()
        val manifest = BundleManifest.parse(assets.open("manifest.json").use { String(it.readBytes(), Charsets.UTF_8) })
        val read = { rel: String -> assets.open(manifest.goldenDir + "/" + rel).use { it.readBytes() } }
        val device = deviceInfo()
        val failures = mutableListOf<String>()
        var written = 0
        val copy = { artifact: Artifact ->
            val file = File(cache, artifact.path)
            file.parentFile?.mkdirs()
            assets.open(artifact.path).use { input -> file.outputStream().use { input.copyTo(it) } }
            file
        }
        val record = { what: String, result: BenchResult ->
            File(outDir, result.fileName()).writeText(result.toJson())
            written++
            Log.i(tag, "$what ${result.runtimeName} ${result.config.backend}: ${result.status} ${result.error ?: ""}")
            if (result.status == "failed" && result.config.backend == "cpu") failures += "$what ${result.runtimeName}: ${result.error}"
        }

        val config = manifest.translation
        if (config != null) {
            val golden = TranslationGolden.parse(String(read(TranslationGolden.FILE), Charsets.UTF_8))
            for (choice in Choices.of(manifest, TARGETS, includeUnverified = true)) {
                val label = "${choice.target}/${choice.variant}"
                if (only.isNotEmpty() && choice.target !in only && label !in only) continue
                if (!choice.artifacts.values.all { runsHere(it) }) {
                    Log.i(tag, "$label: the Core ML delegate runs only on Apple platforms, not benchmarked")
                    continue
                }
                val files = choice.artifacts.values.associate { it.path to copy(it) }
                val decoder = choice.artifact("decoder")
                val sha = Sha256.of(files.getValue(decoder.path))
                val hows =
                    when (choice.target) {
                        "tflite" -> listOf("xnnpack", "gpu", "nnapi").filter { it in wanted }
                        "executorch" -> listOf("et-xnnpack" to "xnnpack").filter { it.first in wanted }.map { it.second }
                        else -> listOf("ort-cpu" to "cpu", "ort-nnapi" to "nnapi").filter { it.first in wanted }.map { it.second }
                    }
                for (how in hows) {
                    val runtime = RUNTIMES.getValue(choice.target)
                    val backend = Seq2SeqBackend(files, choice, config, runtime, how, threads)
                    record("$label pair", runTranslation(backend, decoder, sha, device, warmup, golden, config))
                }
            }
        } else {
            val golden = Golden.load(read)
            for (artifact in manifest.artifacts.filter { it.runnable && it.target in TARGETS }) {
                if (only.isNotEmpty() && artifact.target !in only && artifact.label !in only) continue
                if (!runsHere(artifact)) {
                    Log.i(tag, "${artifact.label}: the Core ML delegate runs only on Apple platforms, not benchmarked")
                    continue
                }
                val file = copy(artifact)
                val sha = Sha256.of(file)
                for (backend in backends(artifact, file, golden, threads, wanted)) record(artifact.label, runOne(backend, artifact, sha, device, warmup, runs))
            }
        }
        Log.i(tag, "wrote $written result(s) to ${outDir.absolutePath}")
        assertTrue("CPU benchmarks failed: $failures", failures.isEmpty())
    }

    private fun backends(
        artifact: Artifact,
        file: File,
        golden: Golden,
        threads: Int,
        wanted: Set<String>,
    ): List<Backend> =
        when (artifact.target) {
            "tflite" -> {
                listOf("xnnpack", "gpu", "nnapi").filter { it in wanted }.map { TfliteBackend(file, artifact, golden, it, threads) }
            }

            "onnx" -> {
                listOf("ort-cpu" to "cpu", "ort-nnapi" to "nnapi")
                    .filter { it.first in wanted }
                    .map { OrtBackend(file, artifact, golden, it.second, threads) }
            }

            "executorch" -> {
                if ("et-xnnpack" in wanted) listOf(ExecuTorchBackend(file, artifact, golden, threads)) else emptyList()
            }

            else -> {
                emptyList()
            }
        }

    private fun runOne(
        backend: Backend,
        artifact: Artifact,
        sha: String,
        device: DeviceInfo,
        warmup: Int,
        runs: Int,
    ): BenchResult {
        val config = RunConfig(backend.backend, backend.delegate, null, backend.threads, warmup, runs)
        val version = versionOf(backend.runtime)
        val tool = "mobilekit android harness (androidx.test)"
        return try {
            val timings = BenchProtocol(warmup, runs).measure(init = { backend.init() }, load = { backend.load() })
            val notes =
                listOf(
                    "init: runtime and delegate set-up; load: model file to a ready interpreter/session",
                    "first inference is one call after load, outside the $warmup warm-up and $runs measured runs",
                )
            BenchResult(tool, device, backend.runtime, version, artifact, sha, config, "ok", null, timings, notes)
        } catch (e: Unsupported) {
            BenchResult(tool, device, backend.runtime, version, artifact, sha, config, "unsupported", e.message, null)
        } catch (e: Throwable) {
            val why = "${e.javaClass.simpleName}: ${e.message ?: ""}".take(300)
            BenchResult(tool, device, backend.runtime, version, artifact, sha, config, "failed", why, null)
        }
    }

    /** Per-token latency of one pair: every decoder step of every golden sentence is one measured run. */
    private fun runTranslation(
        backend: Seq2SeqBackend,
        decoder: Artifact,
        sha: String,
        device: DeviceInfo,
        warmup: Int,
        golden: TranslationGolden,
        config: dev.mobilekit.core.TranslationConfig,
    ): BenchResult {
        val sentences = golden.samples.size
        val version = versionOf(backend.runtime)
        val warmupSentences = minOf(warmup, sentences)
        val tool = "mobilekit android harness (androidx.test)"
        val run = RunConfig(backend.backend, backend.delegate, null, backend.threads, warmupSentences, sentences, "golden sentences, per token")
        return try {
            val outcome = TranslationBench.measure(config, golden, warmupSentences, init = { backend.init() }, load = { backend.load() })
            val encoder = Stats.summarize(outcome.encoderMs)
            val notes =
                listOf(
                    "runs_ms: one decoder step (one token, KV cache fed back) per entry, over all $sentences golden sentences",
                    String.format(java.util.Locale.US, "encoder: p50 %.3f ms over %d runs", encoder.p50, encoder.count),
                    "load: encoder and decoder of ${decoder.target}/${decoder.variant} (one verified pair); model.sha256 is the decoder's",
                    "golden ids: ${outcome.tokenExact}/${outcome.sentences} sentences exact" +
                        if (outcome.mismatches.isEmpty()) "" else " (differ: ${outcome.mismatches.take(3).joinToString(" | ")})",
                )
            val measured = run.copy(runs = outcome.timings.runsMs.size) // one run per decoder step
            BenchResult(tool, device, backend.runtime, version, decoder, sha, measured, "ok", null, outcome.timings, notes)
        } catch (e: Unsupported) {
            BenchResult(tool, device, backend.runtime, version, decoder, sha, run, "unsupported", e.message, null)
        } catch (e: Throwable) {
            val why = "${e.javaClass.simpleName}: ${e.message ?: ""}".take(300)
            BenchResult(tool, device, backend.runtime, version, decoder, sha, run, "failed", why, null)
        }
    }

    private fun runsHere(artifact: Artifact): Boolean = artifact.target != "executorch" || ExecuTorchPrograms.runsOnAndroid(artifact)

    private fun versionOf(runtime: String): String =
        when (runtime) {
            "litert" -> BuildConfig.LITERT_VERSION
            "executorch" -> BuildConfig.EXECUTORCH_VERSION
            else -> BuildConfig.ORT_VERSION
        }

    private fun deviceInfo(): DeviceInfo {
        val soc = if (Build.VERSION.SDK_INT >= 31) "${Build.SOC_MANUFACTURER} ${Build.SOC_MODEL}" else Build.HARDWARE
        return DeviceInfo(
            platform = "android",
            model = Build.MODEL,
            os = "Android ${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
            cores = Runtime.getRuntime().availableProcessors(),
            arch = Build.SUPPORTED_ABIS.firstOrNull(),
            manufacturer = Build.MANUFACTURER,
            soc = soc,
        )
    }
}
