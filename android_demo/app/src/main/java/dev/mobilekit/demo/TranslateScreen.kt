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
import androidx.compose.material3.Slider
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.mobilekit.core.ModelState
import java.util.Locale
import kotlin.math.roundToInt

/** Text in, translation out (greedy or beam search of a chosen width), with the encoder time and each decoder step's time. */
@Composable
fun TranslateScreen(model: TranslateViewModel = viewModel()) {
    val state = model.state
    if (state is ModelState.Failed && model.choices.isEmpty()) {
        Message(state.message)
        return
    }
    Column(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        // One encoder/decoder pair at a time, as the SDK verified it.
        model.selected?.let { current ->
            VariantPicker(
                model.choices,
                current,
                { "${it.title} (encoder + decoder)" },
                { it },
                model.device,
                !model.busy && state !is ModelState.Loading,
            ) { model.select(it) }
        }
        when (state) {
            is ModelState.Loading -> Text("Loading ${state.what}…")
            is ModelState.Failed -> Text(state.message, color = MaterialTheme.colorScheme.error)
            is ModelState.Ready -> Text(String.format(Locale.US, "on %s, loaded in %.0f ms", state.backend, state.loadMs))
            ModelState.Idle -> Unit
        }
        OutlinedTextField(value = model.input, onValueChange = { model.input = it }, label = { Text("Text") }, modifier = Modifier.fillMaxWidth())
        Row(verticalAlignment = Alignment.CenterVertically) {
            Button(enabled = !model.busy && state is ModelState.Ready && model.input.isNotBlank(), onClick = { model.translate() }) {
                Text(if (model.busy) "Translating…" else "Translate")
            }
            Text("GPU", modifier = Modifier.padding(start = 16.dp))
            Switch(
                checked = model.preferGpu,
                onCheckedChange = { model.setGpu(it) },
                enabled = !model.busy && state !is ModelState.Loading && model.gpuApplies, // ExecuTorch runs on the CPU
                modifier = Modifier.padding(start = 8.dp),
            )
        }
        if (model.beamAvailable) {
            // 1 = greedy; wider runs the manifest's beam search, one KV cache per beam
            Row(verticalAlignment = Alignment.CenterVertically) {
                Text(if (model.beamWidth == 1) "Beam width 1 (greedy)" else "Beam width ${model.beamWidth}")
                Slider(
                    value = model.beamWidth.toFloat(),
                    onValueChange = { model.beamWidth = it.roundToInt() },
                    valueRange = 1f..TranslateViewModel.MAX_BEAM.toFloat(),
                    steps = TranslateViewModel.MAX_BEAM - 2,
                    enabled = !model.busy,
                    modifier = Modifier.padding(start = 16.dp).weight(1f),
                )
            }
        }
        model.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        Text(model.output, style = MaterialTheme.typography.headlineSmall)
        Text(model.summary, style = MaterialTheme.typography.bodySmall)
        LazyColumn {
            items(model.tokens) { t ->
                Text(String.format(Locale.US, "%-16s %.2f ms", t.token, t.ms), style = MaterialTheme.typography.bodyMedium)
            }
        }
    }
}
