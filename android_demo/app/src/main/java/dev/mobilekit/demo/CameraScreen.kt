package dev.mobilekit.demo

import android.Manifest
import android.content.pm.PackageManager
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.core.UseCaseGroup
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.layout.onSizeChanged
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.core.view.doOnLayout
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.mobilekit.core.CameraChoice
import dev.mobilekit.core.Lens
import dev.mobilekit.core.ModelState
import java.util.Locale

/** Live classification: CameraX preview, a guide box around exactly what the model sees, the latest frame's labels. */
@Composable
fun CameraScreen(model: CameraViewModel = viewModel()) {
    val context = LocalContext.current
    var granted by remember {
        mutableStateOf(ContextCompat.checkSelfPermission(context, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED)
    }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted = it }
    LaunchedEffect(Unit) { if (!granted) launcher.launch(Manifest.permission.CAMERA) }
    if (!granted) {
        Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center) {
            Text("The Camera screen classifies what the camera sees; it needs the camera permission.")
            Button(onClick = { launcher.launch(Manifest.permission.CAMERA) }) { Text("Allow the camera") }
        }
        return
    }
    val state = model.state
    if (state is ModelState.Failed && model.options.isEmpty()) {
        Message(state.message) // no bundle to offer: nothing else to show
        return
    }
    var cameraError by remember { mutableStateOf<String?>(null) }
    Box(Modifier.fillMaxSize()) {
        CameraPreview(model) { cameraError = it }
        Guide(model)
        Surface(
            color = MaterialTheme.colorScheme.surface.copy(alpha = 0.85f),
            modifier = Modifier.align(Alignment.BottomCenter).fillMaxWidth(),
        ) {
            Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                model.selected?.let { current ->
                    VariantPicker(model.options, current, { it.label }, { it.choice }, model.device, state !is ModelState.Loading) {
                        model.select(it)
                    }
                }
                when (state) {
                    is ModelState.Loading -> Text("Loading ${state.what}…")
                    is ModelState.Failed -> Text(state.message, color = MaterialTheme.colorScheme.error)
                    is ModelState.Ready -> Text(String.format(Locale.US, "on %s, loaded in %.0f ms", state.backend, state.loadMs))
                    ModelState.Idle -> Unit
                }
                cameraError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                model.frameError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                model.last?.let { r ->
                    for (p in r.top) {
                        Text(String.format(Locale.US, "%s  %.1f%%", p.label, 100f * p.probability), style = MaterialTheme.typography.titleMedium)
                    }
                    Text(String.format(Locale.US, "inference %.2f ms, preprocessing %.2f ms", r.inferenceMs, r.preprocessMs))
                }
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text("GPU delegate when supported")
                    Switch(
                        checked = model.preferGpu,
                        onCheckedChange = { model.setGpu(it) },
                        enabled = state !is ModelState.Loading && model.gpuApplies, // ExecuTorch runs on the CPU
                        modifier = Modifier.padding(start = 8.dp),
                    )
                }
            }
        }
    }
}

/**
 * The preview, bound to this screen's lifecycle once laid out: with the preview's ViewPort, so
 * the analysed frames are cropped to what the preview shows. The back camera, else the front
 * one, else [onError] says so; nothing is bound after the screen is gone.
 */
@Composable
private fun CameraPreview(
    model: CameraViewModel,
    onError: (String?) -> Unit,
) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val previewView = remember { PreviewView(context).apply { scaleType = PreviewView.ScaleType.FILL_CENTER } }
    DisposableEffect(lifecycleOwner) {
        var disposed = false
        var bound: ProcessCameraProvider? = null
        val future = ProcessCameraProvider.getInstance(context)
        val analysis =
            ImageAnalysis
                .Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                .build()
                .also { it.setAnalyzer(model.analyzerExecutor, model.analyzer) }
        val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
        future.addListener({
            previewView.doOnLayout {
                if (disposed) return@doOnLayout
                try {
                    val provider = future.get()
                    val lens =
                        CameraChoice.pick(
                            hasBack = runCatching { provider.hasCamera(CameraSelector.DEFAULT_BACK_CAMERA) }.getOrDefault(false),
                            hasFront = runCatching { provider.hasCamera(CameraSelector.DEFAULT_FRONT_CAMERA) }.getOrDefault(false),
                        )
                    if (lens == null) {
                        onError(CameraChoice.NO_CAMERA)
                        return@doOnLayout
                    }
                    val selector = if (lens == Lens.BACK) CameraSelector.DEFAULT_BACK_CAMERA else CameraSelector.DEFAULT_FRONT_CAMERA
                    val group = UseCaseGroup.Builder().addUseCase(preview).addUseCase(analysis)
                    previewView.viewPort?.let { group.setViewPort(it) } // null only if not attached: the core then maps by view size
                    provider.bindToLifecycle(lifecycleOwner, selector, group.build())
                    bound = provider
                    onError(if (lens == Lens.FRONT) "No back camera: using the front one." else null)
                } catch (e: Exception) {
                    onError(CameraChoice.bindFailed(e))
                }
            }
        }, ContextCompat.getMainExecutor(context))
        onDispose {
            disposed = true
            analysis.clearAnalyzer()
            bound?.unbind(preview, analysis)
        }
    }
    AndroidView(
        factory = { previewView },
        modifier =
            Modifier.fillMaxSize().onSizeChanged {
                model.viewWidth = it.width
                model.viewHeight = it.height
            },
    )
}

/** The framing guide: the region of the last frame the model saw, where the preview shows it. */
@Composable
private fun Guide(model: CameraViewModel) {
    val plan = model.last?.plan ?: return
    val color = MaterialTheme.colorScheme.primary
    Canvas(Modifier.fillMaxSize()) {
        val g = plan.guide(size.width.toInt(), size.height.toInt())
        val dim = Color.Black.copy(alpha = 0.3f) // what the model does not see
        val bottom = g.top + g.height
        drawRect(dim, Offset.Zero, Size(size.width, g.top))
        drawRect(dim, Offset(0f, bottom), Size(size.width, size.height - bottom))
        drawRect(dim, Offset(0f, g.top), Size(g.left, g.height))
        drawRect(dim, Offset(g.left + g.width, g.top), Size(size.width - g.left - g.width, g.height))
        drawRect(color, Offset(g.left, g.top), Size(g.width, g.height), style = Stroke(width = 3.dp.toPx()))
    }
}

@Composable
fun Message(text: String) {
    Box(Modifier.fillMaxSize().padding(24.dp), contentAlignment = Alignment.Center) {
        Text(text, style = MaterialTheme.typography.bodyLarge)
    }
}
