package dev.mobilekit.demo

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.core.content.ContextCompat
import dev.mobilekit.core.Stats
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.Locale
import java.util.concurrent.Executors

/** One generated token as shown: its text and how long its decoder step took. */
data class TokenTiming(
    val token: String,
    val ms: Double,
)

/** Text in, translation out, with the encoder time and each decoder step's time. */
@Composable
fun TranslateScreen() {
    val context = LocalContext.current
    val bundle = remember { AssetBundle.open(context, BundlePaths.TRANSLATOR_MANIFEST) }
    bundle.exceptionOrNull()?.let {
        Message(it.message ?: "no bundle")
        return
    }
    var preferGpu by remember { mutableStateOf(false) } // a small decoder step is usually faster on the CPU
    val loaded = remember(preferGpu) { runCatching { TfliteSeq2SeqRunner.translator(bundle.getOrThrow(), preferGpu) } }
    loaded.exceptionOrNull()?.let {
        Message("Could not load the translator: ${it.message}")
        return
    }
    val (translator, backend) = loaded.getOrThrow()
    // Interpreters are not thread-safe: every translation runs on this one thread.
    val dispatcher = remember(translator) { Executors.newSingleThreadExecutor().asCoroutineDispatcher() }
    DisposableEffect(translator) {
        onDispose {
            dispatcher.executor.execute { translator.close() }
            dispatcher.close()
        }
    }
    val scope = rememberCoroutineScope()
    val mainExecutor = remember { ContextCompat.getMainExecutor(context) }
    var input by rememberSaveable { mutableStateOf("the cat eats an apple .") }
    var output by remember { mutableStateOf("") }
    var summary by remember { mutableStateOf("") }
    var busy by remember { mutableStateOf(false) }
    val tokens = remember { mutableStateListOf<TokenTiming>() }
    val manifest = bundle.getOrThrow().manifest

    Column(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("${manifest.name} ${manifest.version} on $backend", style = MaterialTheme.typography.labelMedium)
        OutlinedTextField(value = input, onValueChange = { input = it }, label = { Text("Text") }, modifier = Modifier.fillMaxWidth())
        Row(verticalAlignment = Alignment.CenterVertically) {
            Button(enabled = !busy && input.isNotBlank(), onClick = {
                busy = true
                tokens.clear()
                output = ""
                scope.launch {
                    val (text, generation) =
                        withContext(dispatcher) {
                            translator.translate(input) { id, ms ->
                                val piece = translator.tokenText(id)
                                mainExecutor.execute { tokens.add(TokenTiming(piece, ms)) }
                            }
                        }
                    output = text
                    val steps = Stats.summarize(generation.stepMs)
                    summary =
                        String.format(
                            Locale.US,
                            "encoder %.2f ms; %d decoder steps: p50 %.2f ms, p90 %.2f ms, mean %.2f ms per token%s",
                            generation.encodeMs,
                            steps.count,
                            steps.p50,
                            steps.p90,
                            steps.mean,
                            if (generation.stoppedAtEos) "" else " (stopped at the length limit)",
                        )
                    busy = false
                }
            }) { Text(if (busy) "Translating…" else "Translate") }
            Text("GPU", modifier = Modifier.padding(start = 16.dp))
            Switch(checked = preferGpu, onCheckedChange = { preferGpu = it }, enabled = !busy, modifier = Modifier.padding(start = 8.dp))
        }
        Text(output, style = MaterialTheme.typography.headlineSmall)
        Text(summary, style = MaterialTheme.typography.bodySmall)
        LazyColumn {
            items(tokens) { t ->
                Text(String.format(Locale.US, "%-16s %.2f ms", t.token, t.ms), style = MaterialTheme.typography.bodyMedium)
            }
        }
    }
}
