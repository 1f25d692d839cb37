package dev.mobilekit.demo

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.Matrix
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
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
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import dev.mobilekit.core.LatencySummary
import dev.mobilekit.core.LatencyWindow
import java.util.Locale
import java.util.concurrent.Executors

/** Live classification: CameraX preview, and the latest frame classified on a background thread. */
@Composable
fun CameraScreen() {
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
    val bundle = remember { AssetBundle.open(context, BundlePaths.DIGITS_MANIFEST) }
    bundle.exceptionOrNull()?.let {
        Message(it.message ?: "no bundle")
        return
    }
    var preferGpu by remember { mutableStateOf(true) }
    val classifier = remember(preferGpu) { runCatching { ImageClassifier(bundle.getOrThrow(), preferGpu) } }
    classifier.exceptionOrNull()?.let {
        Message("Could not load the model: ${it.message}")
        return
    }
    ClassifierPreview(classifier.getOrThrow(), preferGpu) { preferGpu = it }
}

@Composable
private fun ClassifierPreview(
    classifier: ImageClassifier,
    preferGpu: Boolean,
    onPreferGpu: (Boolean) -> Unit,
) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    var result by remember { mutableStateOf<Classification?>(null) }
    var stats by remember { mutableStateOf<LatencySummary?>(null) }
    val window = remember(classifier) { LatencyWindow(capacity = 100) }
    // One thread for analysis: frames never pile up (keep-only-latest) and the model is never shared.
    val executor = remember(classifier) { Executors.newSingleThreadExecutor() }
    val previewView = remember { PreviewView(context) }
    val mainExecutor = remember { ContextCompat.getMainExecutor(context) }

    DisposableEffect(classifier) {
        onDispose {
            // Closed on the analysis thread, after any frame still being classified.
            executor.execute { classifier.close() }
            executor.shutdown()
        }
    }
    // Declared after the effect above, so disposed before it: the camera stops sending frames first.
    DisposableEffect(lifecycleOwner, classifier) {
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            val provider = future.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            val analysis =
                ImageAnalysis
                    .Builder()
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                    .build()
            analysis.setAnalyzer(executor) { image ->
                val r = image.use { classify(classifier, it) }
                window.add(r.inferenceMs)
                val s = window.summary()
                mainExecutor.execute {
                    result = r
                    stats = s
                }
            }
            provider.unbindAll()
            provider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, mainExecutor)
        onDispose {
            if (future.isDone) future.get().unbindAll()
        }
    }

    Box(Modifier.fillMaxSize()) {
        AndroidView(factory = { previewView }, modifier = Modifier.fillMaxSize())
        Surface(
            color = MaterialTheme.colorScheme.surface.copy(alpha = 0.85f),
            modifier = Modifier.align(Alignment.BottomCenter).fillMaxWidth(),
        ) {
            Column(Modifier.padding(16.dp)) {
                Text(classifier.description, style = MaterialTheme.typography.labelMedium)
                result?.let { r ->
                    for (p in r.top) {
                        Text(String.format(Locale.US, "%s  %.1f%%", p.label, 100f * p.probability), style = MaterialTheme.typography.titleMedium)
                    }
                    Text(String.format(Locale.US, "inference %.2f ms, preprocessing %.2f ms", r.inferenceMs, r.preprocessMs))
                }
                stats?.let { s ->
                    Text(String.format(Locale.US, "last %d frames: p50 %.2f ms, p90 %.2f ms, mean %.2f ms", s.count, s.p50, s.p90, s.mean))
                }
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text("GPU delegate when supported")
                    Switch(checked = preferGpu, onCheckedChange = onPreferGpu, modifier = Modifier.padding(start = 8.dp))
                }
            }
        }
    }
}

/** An upright ARGB copy of the frame, classified. */
private fun classify(
    classifier: ImageClassifier,
    image: ImageProxy,
): Classification {
    var bitmap = image.toBitmap()
    val rotation = image.imageInfo.rotationDegrees
    if (rotation != 0) {
        val m = Matrix().apply { postRotate(rotation.toFloat()) }
        bitmap = Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, m, true)
    }
    val pixels = IntArray(bitmap.width * bitmap.height)
    bitmap.getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
    return classifier.classify(pixels, bitmap.width, bitmap.height)
}

@Composable
fun Message(text: String) {
    Box(Modifier.fillMaxSize().padding(24.dp), contentAlignment = Alignment.Center) {
        Text(text, style = MaterialTheme.typography.bodyLarge)
    }
}
