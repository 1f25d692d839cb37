package dev.mobilekit.demo

import android.app.Application
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.core.content.ContextCompat
import androidx.lifecycle.AndroidViewModel
import dev.mobilekit.core.Choices
import dev.mobilekit.core.Errors
import dev.mobilekit.core.LatencySummary
import dev.mobilekit.core.LatencyWindow
import dev.mobilekit.core.ModelChoice
import dev.mobilekit.core.ModelState
import dev.mobilekit.core.ModelWorker
import dev.mobilekit.core.Runtimes
import dev.mobilekit.core.Stats
import dev.mobilekit.core.Translator
import java.util.Locale

/** One generated token as shown: its text and how long its decoder step took. */
data class TokenTiming(
    val token: String,
    val ms: Double,
)

/** A loaded encoder/decoder pair with its tokenizer, and the delegate it runs on. */
class LoadedTranslator(
    val translator: Translator,
    val backend: String,
) : AutoCloseable {
    override fun close() = translator.close()
}

/**
 * The Translate screen's state, kept across rotation. The translator lives on one [ModelWorker]
 * thread: loaded, run and closed there; every outcome (text, tokens, errors) comes back on the
 * main thread, and `busy` is cleared on every path.
 */
class TranslateViewModel(
    app: Application,
) : AndroidViewModel(app) {
    private val main = ContextCompat.getMainExecutor(app)
    private val worker = ModelWorker<LoadedTranslator>("model-translate") { main.execute(it) }
    private var bundle: AssetBundle? = null

    var choices by mutableStateOf<List<ModelChoice>>(emptyList())
        private set
    var selected by mutableStateOf<ModelChoice?>(null)
        private set
    var preferGpu by mutableStateOf(false) // a small decoder step is usually faster on the CPU
        private set
    var state by mutableStateOf<ModelState>(ModelState.Loading("reading the bundle"))
        private set
    var input by mutableStateOf("the cat eats an apple .")
    var output by mutableStateOf("")
        private set
    var summary by mutableStateOf("")
        private set
    var error by mutableStateOf<String?>(null)
        private set
    var busy by mutableStateOf(false)
        private set
    var device by mutableStateOf<LatencySummary?>(null)
        private set

    /** Whether the bundle's manifest describes beam search (`translation.beam_search`): the screen then offers a width. */
    var beamAvailable by mutableStateOf(false)
        private set

    /** Beams per translation: 1 is greedy (the manifest's decoding), more runs the core's beam search. */
    var beamWidth by mutableStateOf(1)
    val tokens = mutableStateListOf<TokenTiming>()

    // Every decoder step timed on this device for the loaded pair (worker thread only).
    private var steps = LatencyWindow(capacity = 1000)

    init {
        worker.call({ AssetBundle.open(app, BundlePaths.TRANSLATOR_MANIFEST).getOrThrow() }) { r ->
            r
                .onSuccess { b ->
                    bundle = b
                    beamAvailable = b.manifest.translation?.beamSearch == true
                    // LiteRT and ExecuTorch (XNNPACK) pairs, each encoder + decoder step one unit; Core ML delegate .pte are Apple-only.
                    choices = Choices.forApp(b.manifest, Runtimes.ANDROID)
                    val first = choices.firstOrNull()
                    if (first == null) {
                        state = ModelState.Failed(Choices.noneMessage(b.manifest, Runtimes.ANDROID))
                    } else {
                        select(first)
                    }
                }.onFailure { state = ModelState.Failed(Errors.describe(it)) }
        }
    }

    /** Loads [choice]'s encoder and decoder, as one pair, on the model thread. */
    fun select(
        choice: ModelChoice,
        gpu: Boolean = preferGpu,
    ) {
        val b = bundle ?: return
        if (busy) return
        selected = choice
        preferGpu = gpu
        device = null
        state = ModelState.Loading("${choice.target} ${choice.variant}")
        worker.loadChoice(choice, { it.backend }, {
            steps = LatencyWindow(capacity = 1000)
            val (translator, backend) = Translators.load(b, choice, gpu)
            LoadedTranslator(translator, backend)
        }) { s ->
            if (selected == choice && preferGpu == gpu) state = s // else a newer choice is loading
        }
    }

    fun setGpu(gpu: Boolean) {
        selected?.let { select(it, gpu) }
    }

    /** Whether the GPU switch applies: LiteRT has a GPU delegate; the ExecuTorch AAR runs `.pte` on the CPU (XNNPACK). */
    val gpuApplies: Boolean get() = selected?.target == "tflite"

    fun translate() {
        if (state !is ModelState.Ready || input.isBlank()) return
        val text = input
        val width = if (beamAvailable) beamWidth.coerceIn(1, MAX_BEAM) else 1
        val started =
            worker.run({ m ->
                val (out, generation) =
                    m.translator.translate(text, width) { id, ms ->
                        val piece = m.translator.tokenText(id)
                        main.execute { tokens.add(TokenTiming(piece, ms)) }
                    }
                if (width == 1) for (ms in generation.stepMs) steps.add(ms) // the per-token window: greedy steps only
                Triple(out, generation, steps.summary())
            }) { r ->
                busy = false
                r
                    .onSuccess { (out, generation, all) ->
                        output = out
                        device = all
                        val s = Stats.summarize(generation.stepMs)
                        summary =
                            String.format(
                                Locale.US,
                                "%s: encoder %.2f ms; %d decoder steps: p50 %.2f ms, p90 %.2f ms, mean %.2f ms per %s%s",
                                if (width == 1) "greedy" else "beam $width",
                                generation.encodeMs,
                                s.count,
                                s.p50,
                                s.p90,
                                s.mean,
                                if (width == 1) "token" else "step of $width beams",
                                if (generation.stoppedAtEos) "" else " (stopped at the length limit)",
                            )
                    }.onFailure { error = "Translation failed: ${Errors.describe(it)}" }
            }
        if (started) {
            busy = true
            error = null
            tokens.clear()
            output = ""
            summary = ""
        }
    }

    override fun onCleared() {
        worker.close()
    }

    companion object {
        const val MAX_BEAM = 4
    }
}
