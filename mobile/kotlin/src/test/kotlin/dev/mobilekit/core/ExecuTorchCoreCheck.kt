package dev.mobilekit.core

import java.io.BufferedReader
import java.io.ByteArrayInputStream
import java.io.File
import java.io.InputStreamReader
import java.io.PrintStream

/**
 * The core's ExecuTorch parts on the JVM, for tests/demo_apps/test_android_executorch.py:
 *
 * - `rules <manifest.json> <scratch dir>`: which artifacts each app runs (the Core ML delegate
 *   `.pte` rule), the choices and pairs offered, the picker titles, the none-offered message,
 *   [ProgramIo]'s dtype handling and errors, and [ModelFiles]' copy-once by sha256; JSON on stdout.
 * - `pipe <translation bundle>`: the app's translation path over a real `.pte` pair: the bundle's
 *   tokenizer and contract, [CachedSeq2SeqRunner] with the explicit KV cache and [ProgramIo]'s
 *   positional values, each `forward` answered over stdin by the Python test running
 *   executorch.runtime (lines `RUN {...}` out, one JSON line in); `DONE {...}` at the end.
 */
fun main(args: Array<String>) {
    require(args.size >= 2) { "usage: ExecuTorchCoreCheck rules <manifest.json> <dir> | pipe <bundle>" }
    when (args[0]) {
        "rules" -> print(Json.write(rules(File(args[1]), File(args[2])), indent = 0))
        "pipe" -> pipe(File(args[1]))
        else -> throw IllegalArgumentException("unknown mode ${args[0]}")
    }
}

private fun describe(c: ModelChoice): Map<String, Any?> =
    mapOf(
        "target" to c.target,
        "variant" to c.variant,
        "status" to c.status,
        "title" to c.title,
        "paths" to c.artifacts.mapValues { it.value.path },
    )

private fun rules(
    manifestFile: File,
    dir: File,
): Map<String, Any?> {
    val manifest = BundleManifest.parse(manifestFile.readText())
    val out = linkedMapOf<String, Any?>()
    out["elsewhere"] =
        manifest.artifacts.associate { a ->
            a.path to listOf(Runtimes.ANDROID, Runtimes.IOS).associateWith { Runtimes.delegateElsewhere(a, it) }
        }
    out["app_targets"] = Runtimes.APP_TARGETS
    out["android"] = Choices.forApp(manifest, Runtimes.ANDROID, includeUnverified = true).map { describe(it) }
    out["ios"] = Choices.forApp(manifest, Runtimes.IOS, includeUnverified = true).map { describe(it) }
    val appleOnly =
        BundleManifest(
            manifest.name,
            manifest.version,
            manifest.task,
            manifest.inputs,
            manifest.outputs,
            manifest.artifacts.filter {
                Runtimes.delegateElsewhere(it, Runtimes.ANDROID) !=
                    null
            },
            manifest.golden,
            manifest.translation,
        )
    out["apple_only_android"] = Choices.forApp(appleOnly, Runtimes.ANDROID, includeUnverified = true).map { describe(it) }
    out["apple_only_message"] = Choices.noneMessage(appleOnly, Runtimes.ANDROID)
    out["program_io"] = programIo()
    out["files"] = files(dir)
    return out
}

private fun programIo(): Map<String, Any?> {
    val ref = { name: String, dtype: String, shape: IntArray -> TensorRef(name, name, "", dtype, shape) }
    val decoder =
        Artifact(
            "executorch",
            "fp32",
            "executorch/decoder.pte",
            "",
            "fp32",
            "verified",
            "decoder",
            inputs = listOf(ref("token", "int64", intArrayOf(1, 1)), ref("past_keys", "float32", intArrayOf(2, 3)), ref("position", "int32", intArrayOf(1))),
            outputs = listOf(ref("logits", "float32", intArrayOf(1, 4)), ref("present_keys", "float32", intArrayOf(2, 3))),
        )
    // Given out of order and in other dtypes: forward's order and the manifest's dtypes come back.
    val given =
        mapOf(
            "position" to TensorData.ids(intArrayOf(5), intArrayOf(1), "int64"),
            "past_keys" to TensorData.f32(FloatArray(6) { it * 0.5f }, intArrayOf(2, 3)),
            "token" to TensorData.ids(intArrayOf(7), intArrayOf(1, 1), "int32"),
        )
    val fed = ProgramIo.inputs(decoder, given)
    val errors =
        listOf<() -> Any>(
            { ProgramIo.inputs(decoder, given - "past_keys") },
            { ProgramIo.inputs(decoder, given + ("token" to TensorData.f32(floatArrayOf(7f), intArrayOf(1, 1)))) },
            { ProgramIo.inputs(decoder, given + ("past_keys" to TensorData.f32(FloatArray(4), intArrayOf(4)))) },
            { ProgramIo.inputs(decoder.copy(inputs = emptyList()), given) },
            { ProgramIo.outputs(decoder, listOf(TensorData.f32(FloatArray(4), intArrayOf(1, 4)))) },
        ).map { f -> runCatching { f() }.exceptionOrNull()?.let { Errors.describe(it) } }
    val outputs =
        ProgramIo.outputs(
            decoder,
            listOf(
                TensorData.f32(FloatArray(4), intArrayOf(1, 4)),
                TensorData.f32(FloatArray(6), intArrayOf(2, 3)),
                TensorData.f32(FloatArray(1), intArrayOf(1)),
            ),
        )
    return mapOf(
        "order" to decoder.inputs.map { it.name },
        "dtypes" to fed.map { it.dtype },
        "values" to fed.map { it.asFloats().toList() },
        "outputs" to outputs.keys.toList(),
        "errors" to errors,
    )
}

private fun files(dir: File): Map<String, Any?> {
    val bytes = "a .pte's bytes".toByteArray()
    val sha =
        Sha256.hex(
            java.security.MessageDigest
                .getInstance("SHA-256")
                .digest(bytes),
        )
    val art =
        Artifact(
            "executorch",
            "fp32",
            "executorch/model.pte",
            "NCHW",
            "fp32",
            "verified",
            null,
            emptyList(),
            emptyList(),
            sha256 = sha,
            sizeBytes = bytes.size.toLong(),
        )
    var opened = 0
    val open = {
        opened++
        ByteArrayInputStream(bytes)
    }
    val first = ModelFiles.materialize(dir, art, open)
    val second = ModelFiles.materialize(dir, art, open)
    File(dir, "0".repeat(64) + ".pte").writeText("an older bundle's copy")
    val other = art.copy(path = "executorch/model.int8.pte", sha256 = "f".repeat(64), sizeBytes = 3)
    val mismatch = runCatching { ModelFiles.materialize(dir, other) { ByteArrayInputStream("abc".toByteArray()) } }.exceptionOrNull()
    val noSha = runCatching { ModelFiles.materialize(dir, art.copy(sha256 = "")) { ByteArrayInputStream(bytes) } }.exceptionOrNull()
    val pruned = ModelFiles.prune(dir, listOf(art, other))
    return mapOf(
        "name" to first.name,
        "same_file" to (first == second),
        "opened" to opened,
        "content_ok" to first.readBytes().contentEquals(bytes),
        "mismatch" to mismatch?.let { Errors.describe(it) },
        "no_sha" to noSha?.let { Errors.describe(it) },
        "pruned" to pruned,
        "left" to
            dir
                .listFiles()
                .orEmpty()
                .map { it.name }
                .sorted(),
    )
}

/** A `.pte` whose `forward` the Python test runs: positional values out over stdout, outputs back over stdin. */
private class PipeProgram(
    private val artifact: Artifact,
    private val out: PrintStream,
    private val input: BufferedReader,
    private val calls: MutableList<Map<String, Any?>>,
) : TensorModel {
    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val values = ProgramIo.inputs(artifact, inputs)
        calls += mapOf("graph" to artifact.graph, "dtypes" to values.map { it.dtype })
        val request =
            mapOf(
                "path" to artifact.path,
                "inputs" to
                    values.map { t ->
                        mapOf(
                            "dtype" to t.dtype,
                            "shape" to t.shape.toList(),
                            "values" to if (t.dtype == "float32") t.asFloats().map { it.toDouble() } else t.asInts().toList(),
                        )
                    },
            )
        out.print("RUN " + Json.write(request, indent = 0))
        out.flush()
        val reply = Json.parse(input.readLine() ?: throw IllegalStateException("the runtime side closed the pipe")) as Map<*, *>
        val got =
            (reply["outputs"] as List<*>).map { o ->
                val m = o as Map<*, *>
                val shape = (m["shape"] as List<*>).map { (it as Number).toInt() }.toIntArray()
                val v = m["values"] as List<*>
                when (val dtype = m["dtype"] as String) {
                    "float32" -> TensorData.f32(FloatArray(v.size) { (v[it] as Number).toFloat() }, shape)
                    else -> TensorData.ids(IntArray(v.size) { (v[it] as Number).toInt() }, shape, dtype)
                }
            }
        return ProgramIo.outputs(artifact, got)
    }
}

private fun pipe(bundle: File) {
    val manifest = BundleManifest.parse(File(bundle, "manifest.json").readText())
    val config = manifest.translation ?: throw ManifestException("not a translation bundle")
    val out = PrintStream(System.out, false, "UTF-8")
    val input = BufferedReader(InputStreamReader(System.`in`, Charsets.UTF_8))
    val calls = ArrayList<Map<String, Any?>>()
    val choice = Choices.forApp(manifest, Runtimes.ANDROID).first { it.target == "executorch" }
    val runner =
        CachedSeq2SeqRunner(
            PipeProgram(choice.artifact("encoder"), out, input, calls),
            PipeProgram(choice.artifact("decoder"), out, input, calls),
            config,
        )
    val text = TranslationText.of(File(bundle, config.tokenizer).readText(), config)
    val translator = Translator(text, config, runner)
    val golden = TranslationGolden.parse(File(File(bundle, manifest.goldenDir), TranslationGolden.FILE).readText())
    val results =
        golden.samples.map { s ->
            val (outText, generation) = translator.translate(s.text)
            mapOf("text" to s.text, "source_ids" to text.sourceIds(s.text).toList(), "ids" to generation.ids.toList(), "output" to outText)
        }
    val greedyCalls = calls.size
    val beam =
        if (translator.beamSupported) {
            translator
                .translate(golden.samples[0].text, beamWidth = 2)
                .second.ids
                .toList()
        } else {
            null
        }
    val done =
        mapOf(
            "choice" to describe(choice),
            "samples" to results,
            "calls" to calls.distinct(),
            "greedy_calls" to greedyCalls,
            "beam2" to beam,
        )
    out.print("DONE " + Json.write(done, indent = 0))
    out.flush()
}
