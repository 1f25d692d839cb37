package dev.mobilekit.demo

import androidx.compose.foundation.layout.Box
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import dev.mobilekit.core.LatencySummary
import dev.mobilekit.core.ModelChoice

/**
 * The variant picker of both screens: a button naming [current], a menu of [items] (each with
 * its precision, status and host latency), and under it [current]'s summary line with this
 * device's own p50/p90 ([device]) beside the host's.
 */
@Composable
fun <T> VariantPicker(
    items: List<T>,
    current: T,
    title: (T) -> String,
    choiceOf: (T) -> ModelChoice,
    device: LatencySummary?,
    enabled: Boolean,
    onPick: (T) -> Unit,
) {
    var open by remember { mutableStateOf(false) }
    Box {
        OutlinedButton(onClick = { open = true }, enabled = enabled) { Text(title(current)) }
        DropdownMenu(expanded = open, onDismissRequest = { open = false }) {
            for (item in items) {
                val c = choiceOf(item)
                DropdownMenuItem(
                    text = { Text("${title(item)} (${c.precision}, ${c.status}, ${c.hostLatency})") },
                    onClick = {
                        open = false
                        onPick(item)
                    },
                )
            }
        }
    }
    Text(choiceOf(current).summary(device), style = MaterialTheme.typography.labelMedium)
}
