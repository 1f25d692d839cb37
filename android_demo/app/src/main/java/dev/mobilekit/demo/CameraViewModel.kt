package dev.mobilekit.demo

import android.app.Application
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.compose.runtime.getValue
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

/** A variant the Camera screen offers: one artifact of one scaffolded classification bundle. */
data class ClassifierOption(
    val bundle: AssetBundle,
    val choice: ModelChoice,
) {
    /** The bundle, then the runtime (LiteRT / ExecuTorch), target and variant. */
    val label: String get() = "${bundle.manifest.name} · ${choice.title}"
}

/**
 * The Camera screen's state, kept across rotation (a ViewModel outlives its activity). The
 * classifier lives on one [ModelWorker] thread: it is made there (interpreter and GPU delegate),
 * CameraX's analyzer runs there, it is closed there. Compose state below is only written on the
 * main thread (the worker delivers there).
 */
class CameraViewModel(
    app: Application,
) : AndroidViewModel(app) {
    private val main = ContextCompat.getMainExecutor(app)
    private val worker = ModelWorker<ImageClassifier>("model-camera") { main.execute(it) }

    var options by mutableStateOf<List<ClassifierOption>>(emptyList())
        private set
    var selected by mutableStateOf<ClassifierOption?>(null)
        private set
    var preferGpu by mutableStateOf(true)
        private set
    var state by mutableStateOf<ModelState>(ModelState.Loading("reading the bundles"))
        private set
    var last by mutableStateOf<Classification?>(null)
        private set
    var device by mutableStateOf<LatencySummary?>(null)
        private set
    var frameError by mutableStateOf<String?>(null)
        private set

    /** The preview's size in pixels, written on the main thread, read by the analyzer. */
    @Volatile var viewWidth = 0

    @Volatile var viewHeight = 0

    // Touched on the worker thread only; a new one for each loaded model.
    private var window = LatencyWindow(capacity = 100)

    init {
        worker.call({
            val bundles = AssetBundle.classifiers(app).getOrThrow()
            // LiteRT and ExecuTorch (XNNPACK) artifacts; a Core ML delegate .pte is Apple-only and not offered.
            val found = bundles.flatMap { b -> Choices.forApp(b.manifest, Runtimes.ANDROID).map { ClassifierOption(b, it) } }
            found to bundles.joinToString(" ") { Choices.noneMessage(it.manifest, Runtimes.ANDROID) }
        }) { r ->
            r
                .onSuccess { (found, none) ->
                    options = found
                    val first = found.firstOrNull()
                    if (first == null) state = ModelState.Failed(none)
                    first?.let { select(it) }
                }.onFailure { state = ModelState.Failed(Errors.describe(it)) }
        }
    }

    /** Loads [option] on the model thread (closing the previous model there first). */
    fun select(
        option: ClassifierOption,
        gpu: Boolean = preferGpu,
    ) {
        selected = option
        preferGpu = gpu
        last = null
        device = null
        frameError = null
        state = ModelState.Loading("${option.choice.target} ${option.choice.variant}")
        worker.loadChoice(option.choice, { it.backend }, {
            window = LatencyWindow(capacity = 100)
            ImageClassifier(option.bundle, option.choice.artifact(), gpu)
        }) { s ->
            if (selected == option && preferGpu == gpu) state = s // else a newer choice is loading
        }
    }

    fun setGpu(gpu: Boolean) {
        selected?.let { select(it, gpu) }
    }

    /** Whether the GPU switch applies: LiteRT has a GPU delegate; the ExecuTorch AAR runs `.pte` on the CPU (XNNPACK). */
    val gpuApplies: Boolean get() = selected?.choice?.target == "tflite"

    /** CameraX's analyzer, to be set with [analyzerExecutor]: it runs on the model's thread. */
    val analyzer = ImageAnalysis.Analyzer { image -> image.use { analyze(it) } }

    val analyzerExecutor get() = worker.executor

    private fun analyze(image: ImageProxy) {
        if (!worker.hasModel) return // still loading, or the load failed (shown on screen)
        worker
            .onWorkerThread { c -> c.classify(image, viewWidth, viewHeight) }
            .onSuccess { r ->
                window.add(r.inferenceMs)
                val s = window.summary()
                main.execute {
                    last = r
                    device = s
                    frameError = null
                }
            }.onFailure { e ->
                val line = Errors.describe(e)
                main.execute { frameError = "This frame could not be classified: $line" }
            }
    }

    override fun onCleared() {
        worker.close() // the model is closed on its own thread, after the frame in flight
    }
}
