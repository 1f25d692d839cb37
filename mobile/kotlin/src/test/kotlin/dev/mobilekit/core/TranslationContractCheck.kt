package dev.mobilekit.core

import java.io.File

/**
 * The Hugging Face translation contract on the JVM: [HfTokenizer] on tokenizer.json files (ids,
 * source ids, decoded text) and [BeamSearch] / greedy over a table-driven fake decoder, printed as
 * JSON for tests/demo_apps/test_kotlin_translation_contract.py to compare with `tokenizers` and
 * mobilekit/tasks/decoding.py; and exported Hugging Face bundles as the app reads them (manifest,
 * tokenizer, source ids, greedy with forced tokens over the recorded step logits, output text).
 *
 * Usage: `java -cp check.jar dev.mobilekit.core.TranslationContractCheckKt <cases.json>`
 */
fun main(args: Array<String>) {
    require(args.size == 1) { "usage: TranslationContractCheck <cases.json>" }
    val cases = Json.parse(File(args[0]).readText()) as Map<*, *>
    val dir = File(args[0]).parentFile
    val out = linkedMapOf<String, Any?>()
    out["tokenizers"] = (cases["tokenizers"] as List<*>).map { tokenizerCase(it as Map<*, *>, dir) }
    out["unsupported"] =
        (cases["unsupported"] as List<*>).map { name ->
            runCatching { HfTokenizer.fromJson(File(dir, name as String).readText()) }.exceptionOrNull()?.let {
                it::class.simpleName + ": " + it.message
            }
        }
    out["beam"] = (cases["beam"] as List<*>).map { beamCase(it as Map<*, *>, dir) }
    out["bundles"] = (cases["bundles"] as? List<*>).orEmpty().map { bundleCase(File(it as String)) }
    out["replays"] = (cases["replays"] as? List<*>).orEmpty().map { replayCase(it as Map<*, *>, dir) }
    print(Json.write(out, indent = 0))
}

private fun Map<*, *>.int(key: String): Int = (this[key] as Number).toInt()

private fun Map<*, *>.optInt(key: String): Int? = (this[key] as? Number)?.toInt()

private fun config(
    special: SpecialTokens,
    vocab: Int,
    maxSource: Int,
    maxTarget: Int,
    forcedBos: Int? = null,
    forcedEos: Int? = null,
    decoderInputs: List<TensorRef> = emptyList(),
    decoderOutputs: List<TensorRef> = emptyList(),
    encoderInputs: List<TensorRef> = emptyList(),
    encoderOutputs: List<TensorRef> = emptyList(),
): TranslationConfig =
    TranslationConfig(
        tokenizer = "tokenizer.json",
        special = special,
        vocabSize = vocab,
        maxSourceLen = maxSource,
        maxTargetLen = maxTarget,
        sourceFormat = "",
        encoderInputs = encoderInputs,
        encoderOutputs = encoderOutputs,
        decoderInputs = decoderInputs,
        decoderOutputs = decoderOutputs,
        cache = emptyMap(),
        forcedBos = forcedBos,
        forcedEos = forcedEos,
        tokenizerContract = true,
        beamSearch = true,
    )

private fun tokenizerCase(
    case: Map<*, *>,
    dir: File,
): Map<String, Any?> {
    val json = File(dir, case["path"] as String).readText()
    val tok = HfTokenizer.fromJson(json)
    val special = SpecialTokens(case.int("pad"), case.int("pad"), case.int("eos"), case.int("pad"))
    val text = TranslationText(tok, config(special, 0, case.int("max_source_len"), 2))
    val sentences = (case["sentences"] as List<*>).map { it as String }
    return linkedMapOf(
        "name" to case["name"],
        "results" to
            sentences.map { s ->
                val ids = tok.encode(s)
                val source = text.sourceIds(s)
                linkedMapOf(
                    "ids" to ids.toList(),
                    "tokens" to ids.map { tok.tokenOf(it) },
                    "source_ids" to source.toList(),
                    "decoded" to tok.decode(ids, skipSpecial = false),
                    "decoded_skip" to tok.decode(source, skipSpecial = true),
                    "output_text" to text.outputText(ids + case.int("eos")),
                )
            },
    )
}

/**
 * A decoder whose logits are a fixed table: `a[position, token] + b[position, previous token]`,
 * the previous token read from the cache it keeps (the token fed at each position), so a beam
 * fed another beam's cache gives other logits.
 */
private class TableDecoder(
    private val a: FloatArray,
    private val b: FloatArray,
    private val v: Int,
    private val t: Int,
) : TensorModel {
    override fun run(inputs: Map<String, TensorData>): Map<String, TensorData> {
        val token = inputs.getValue("token").asFloats()[0].toInt()
        val position = inputs.getValue("position").asFloats()[0].toInt()
        val past = inputs.getValue("past_keys").asFloats()
        val previous = if (position > 0) past[position - 1].toInt() else 0
        val logits = FloatArray(v) { a[(position * v + token) * v + it] + b[(position * v + previous) * v + it] }
        val present = past.copyOf()
        present[position] = token.toFloat()
        return mapOf(
            "logits" to TensorData.f32(logits, intArrayOf(1, v)),
            "present_keys" to TensorData.f32(present, intArrayOf(1, 1, t, 1)),
        )
    }
}

private fun beamCase(
    case: Map<*, *>,
    dir: File,
): Map<String, Any?> {
    val a = Npy.parse(File(dir, case["a"] as String).readBytes())
    val b = Npy.parse(File(dir, case["b"] as String).readBytes())
    val t = a.shape[0]
    val v = a.shape[2]
    val f32 = "float32"
    val cache = intArrayOf(1, 1, t, 1)
    val special = SpecialTokens(case.int("pad"), case.int("start"), case.int("eos"), case.int("pad"))
    val cfg =
        config(
            special,
            v,
            1,
            t,
            case.optInt("forced_bos"),
            case.optInt("forced_eos"),
            encoderInputs = listOf(TensorRef("source_ids", "source_ids", "", "int32", intArrayOf(1, 1))),
            encoderOutputs = listOf(TensorRef("cross_keys", "cross_keys", "", f32, intArrayOf(1))),
            decoderInputs =
                listOf(
                    TensorRef("token", "token", "", "int32", intArrayOf(1, 1)),
                    TensorRef("position", "position", "", "int32", intArrayOf(1)),
                    TensorRef("cross_keys", "cross_keys", "", f32, intArrayOf(1)),
                    TensorRef("past_keys", "past_keys", "", f32, cache),
                ),
            decoderOutputs =
                listOf(
                    TensorRef("logits", "logits", "", f32, intArrayOf(1, v)),
                    TensorRef("present_keys", "present_keys", "", f32, cache),
                ),
        )
    val encoder =
        object : TensorModel {
            override fun run(inputs: Map<String, TensorData>) = mapOf("cross_keys" to TensorData.f32(FloatArray(1), intArrayOf(1)))
        }
    val runner = CachedSeq2SeqRunner(encoder, TableDecoder(a.floats(), b.floats(), v, t), cfg)
    val search = BeamSearch.of(cfg)
    val source = intArrayOf(0)
    return linkedMapOf(
        "greedy" to GreedyDecoder(cfg).decode(runner, source).ids.toList(),
        "beams" to (case["widths"] as List<*>).associate { w -> w.toString() to search.decode(runner, source, (w as Number).toInt()).ids.toList() },
    )
}

/** Replays a bundle's recorded decoder logits; remembers the tokens fed. */
private class Replay(
    private val steps: NpyArray,
) : Seq2SeqRunner {
    val fed = ArrayList<Int>()
    private val width = steps.shape[1]
    private val all = steps.floats()

    override fun encode(sourceIds: IntArray) {}

    override fun step(
        token: Int,
        position: Int,
    ): FloatArray {
        fed += token
        return all.copyOfRange(position * width, (position + 1) * width)
    }
}

private fun bundleCase(dir: File): Map<String, Any?> {
    val manifest = BundleManifest.parse(File(dir, "manifest.json").readText())
    val config = manifest.translation ?: error("not a translation bundle")
    val text = TranslationText.of(File(dir, config.tokenizer).readText(), config)
    val golden = File(dir, manifest.goldenDir)
    val doc = TranslationGolden.parse(File(golden, TranslationGolden.FILE).readText())
    return linkedMapOf(
        "special" to config.special.let { listOf(it.pad, it.bos, it.eos, it.unk) },
        "forced" to listOf(config.forcedBos, config.forcedEos),
        "tokenizer_contract" to config.tokenizerContract,
        "beam_search" to config.beamSearch,
        "wiring" to DecoderWiring.plan(config).feeds.mapValues { it.value.toString() },
        "samples" to
            doc.samples.map { s ->
                val runner = Replay(Npy.parse(File(golden, s.stepLogits!!).readBytes()))
                val g = GreedyDecoder(config).decode(runner, s.sourceIds)
                linkedMapOf(
                    "source_ids" to text.sourceIds(s.text).toList(),
                    "greedy_ids" to g.ids.toList(),
                    "fed" to runner.fed,
                    "output_text" to text.outputText(g.ids),
                )
            },
    )
}

/**
 * A real decoder's logits recorded per fed prefix (the Python beam's calls): the cache is the
 * prefix, so a beam search that asks for a prefix the Python one never computed fails loudly.
 */
private class PrefixReplay(
    private val rows: Map<List<Int>, Int>,
    private val logits: FloatArray,
    private val v: Int,
) : BeamRunner<IntArray>,
    Seq2SeqRunner {
    private var fed = IntArray(0)

    override fun encode(sourceIds: IntArray) {
        fed = IntArray(0)
    }

    override fun initialCache(): IntArray = IntArray(0)

    override fun step(
        token: Int,
        position: Int,
        cache: IntArray,
    ): BeamStep<IntArray> {
        val key = cache + token
        check(key.size == position + 1) { "position $position with ${cache.size} cached tokens" }
        val row = rows[key.toList()] ?: throw IllegalStateException("prefix ${key.toList()} was never computed by the Python decoder")
        return BeamStep(logits.copyOfRange(row * v, (row + 1) * v), key)
    }

    override fun step(
        token: Int,
        position: Int,
    ): FloatArray {
        val res = step(token, position, fed)
        fed = res.cache
        return res.logits
    }
}

private fun replayCase(
    case: Map<*, *>,
    dir: File,
): Map<String, Any?> {
    val manifest = BundleManifest.parse(File(case["manifest"] as String).readText())
    val config = manifest.translation ?: error("not a translation bundle")
    val logits = Npy.parse(File(dir, case["logits"] as String).readBytes())
    val rows = (case["prefixes"] as List<*>).mapIndexed { i, p -> (p as List<*>).map { (it as Number).toInt() } to i }.toMap()
    val runner = PrefixReplay(rows, logits.floats(), logits.shape[1])
    val source = (case["source_ids"] as List<*>).map { (it as Number).toInt() }.toIntArray()

    fun attempt(run: () -> Generation): Any? = runCatching { run().ids.toList() }.getOrElse { "error: ${it.message}" }
    return linkedMapOf(
        "greedy" to attempt { GreedyDecoder(config).decode(runner, source) },
        "beams" to
            (case["widths"] as List<*>).associate { w ->
                w.toString() to attempt { BeamSearch.of(config).decode(runner, source, (w as Number).toInt()) }
            },
    )
}
