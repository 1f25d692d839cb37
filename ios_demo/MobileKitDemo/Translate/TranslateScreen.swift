import SwiftUI

/// Text in, translation out, with the time of every decoder step.
struct TranslateScreen: View {
    @StateObject private var model = TranslateModel()

    var body: some View {
        NavigationStack {
            Form {
                Section("Source") {
                    TextField("Text to translate", text: $model.input, axis: .vertical)
                        .lineLimit(2...5)
                        .autocorrectionDisabled()
                        .textInputAutocapitalization(.never)
                    Button {
                        model.translate()
                    } label: {
                        if model.busy { ProgressView() } else { Text("Translate") }
                    }
                    .disabled(!model.ready || model.busy || model.input.isEmpty)
                }
                Section("Translation") {
                    Text(model.output.isEmpty ? "–" : model.output).textSelection(.enabled)
                    if !model.summary.isEmpty {
                        Text(model.summary).font(.footnote.monospacedDigit()).foregroundStyle(.secondary)
                    }
                }
                if !model.timings.isEmpty {
                    Section("Per token") {
                        ForEach(model.timings) { t in
                            HStack {
                                Text(t.token).font(.body.monospaced())
                                Spacer()
                                Text(String(format: "%.2f ms", t.ms)).monospacedDigit().foregroundStyle(.secondary)
                            }
                        }
                    }
                }
                Section("Model") {
                    if model.choices.count > 1 {
                        // the runtime switch: Core ML and ExecuTorch pairs listed together, each with its runtime
                        Picker("Encoder + decoder", selection: $model.choiceID) {
                            ForEach(model.choices) { c in
                                Text(ModelChoices.title(c)).tag(c.id)
                            }
                        }
                    }
                    if model.selected?.runtime == .coreML {
                        // an ExecuTorch program's backend is fixed when it is exported
                        Picker("Compute units", selection: $model.computeUnits) {
                            ForEach(ComputeUnitsOption.allCases) { option in
                                Text(option.title).tag(option)
                            }
                        }
                    }
                    if model.beamWidths.count > 1 {
                        // offered only when the manifest states the beam-search contract
                        Picker("Decoding", selection: $model.beamWidth) {
                            ForEach(model.beamWidths, id: \.self) { k in
                                Text(k == 1 ? "Greedy" : "Beam \(k)").tag(k)
                            }
                        }
                    }
                    if !model.tokenizer.isEmpty {
                        Text("Tokenizer: \(model.tokenizer)").font(.caption).foregroundStyle(.secondary)
                    }
                    if let choice = model.loaded {
                        // host p50 of encoder + decoder step beside this device's per-token p50/p90
                        Text(ModelChoices.summary(choice, device: model.stepLatency))
                            .font(.caption.monospacedDigit())
                            .foregroundStyle(choice.verified ? Color.secondary : Color.orange)
                    }
                    if let error = model.error {
                        HStack {
                            Text(error).font(.caption).foregroundStyle(.red)
                            Spacer()
                            Button("Retry") { model.reload() }.font(.caption)
                        }
                    } else {
                        Text(model.status).font(.caption).foregroundStyle(.secondary)
                    }
                }
            }
            .navigationTitle("Translate")
        }
        .onAppear { if !model.ready { model.reload() } }
        .onChange(of: model.computeUnits) { model.reload() }
        .onChange(of: model.choiceID) { old, new in
            if !old.isEmpty && old != new { model.reload() }
        }
    }
}
