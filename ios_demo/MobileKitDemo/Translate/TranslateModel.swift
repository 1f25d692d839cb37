import CoreML
import Foundation
import MobileKitCore

struct TokenTiming: Identifiable {
    let id: Int
    let token: String
    let ms: Double
}

/// The Translate screen's state, on the main actor: the models load and run on the
/// TranslateWorker actor (its own queue); every failure is shown and leaves the screen usable.
@MainActor
final class TranslateModel: ObservableObject {
    static let placeholder = "the cat eats an apple."
    @Published var input = TranslateModel.placeholder
    @Published var computeUnits: ComputeUnitsOption = .all
    /// The picked pair's id (target/variant).
    @Published var choiceID = ""
    /// 1 = greedy; the choices come from the loaded bundle's manifest.
    @Published var beamWidth = 1
    @Published private(set) var beamWidths: [Int] = [1]
    @Published private(set) var tokenizer = ""
    @Published private(set) var choices: [ModelChoice] = []
    @Published private(set) var loaded: ModelChoice?
    @Published private(set) var output = ""
    @Published private(set) var timings: [TokenTiming] = []
    @Published private(set) var summary = ""
    @Published private(set) var stepLatency: Latency?
    @Published private(set) var status = "Loading the models…"
    @Published private(set) var error: String?
    @Published private(set) var busy = false
    @Published private(set) var ready = false

    private let worker = TranslateWorker()
    private var loadGeneration = 0

    /// The picked pair (before it has loaded).
    var selected: ModelChoice? { choices.first { $0.id == choiceID } }

    func reload() {
        loadGeneration += 1
        let generation = loadGeneration
        ready = false
        loaded = nil
        error = nil
        status = "Loading the models…"
        do {
            let bundle = try AppBundle.load(manifestPath: BundlePaths.translatorManifest)
            guard let spec = bundle.manifest.translation else { throw DemoError.badModel("Not a translation bundle.") }
            choices = ModelChoices.appPairs(bundle.manifest)
            guard let choice = ModelChoices.preferred(choices, wanted: choiceID) else {
                throw DemoError.badModel(ModelChoices.noneMessage(bundle.manifest, what: "encoder/decoder pair"))
            }
            if choiceID != choice.id { choiceID = choice.id }
            let units = computeUnits.units
            let unitsTitle = choice.runtime == .coreML ? " · \(computeUnits.title)" : ""  // ExecuTorch: fixed by the export
            Task {
                do {
                    let made = try await worker.load(choice, bundle: bundle, spec: spec, units: units)
                    guard generation == loadGeneration else { return }
                    loaded = choice
                    beamWidths = made.beamWidths
                    tokenizer = made.tokenizer
                    if !beamWidths.contains(beamWidth) { beamWidth = 1 }
                    ready = true
                    stepLatency = nil
                    status = "\(bundle.manifest.name) · \(choice.runtimeLabel) \(choice.variant)\(unitsTitle)"
                    if input == Self.placeholder, let golden = spec.golden, let text = Self.firstSample(bundle.url(golden)) {
                        input = text  // a sentence the model knows
                    }
                } catch is CancellationError {
                    // a newer choice is loading
                } catch {
                    guard generation == loadGeneration else { return }
                    show(error.localizedDescription)
                }
            }
        } catch {
            show(error.localizedDescription)
        }
    }

    func translate() {
        guard ready, !busy else { return }
        busy = true
        error = nil
        let text = input
        let width = beamWidth
        Task {
            defer { busy = false }
            do {
                show(try await worker.translate(text, beamWidth: width), beamWidth: width)
            } catch {
                show(error.localizedDescription)  // the models stay loaded: the next try runs again
            }
        }
    }

    /// The text of the first golden sample, if the bundle lists them.
    nonisolated static func firstSample(_ url: URL) -> String? {
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let samples = root["samples"] as? [[String: Any]] else { return nil }
        return samples.first?["text"] as? String
    }

    private func show(_ message: String) {
        error = message
        status = message
    }

    private func show(_ translation: Translation, beamWidth: Int) {
        let result = translation.result
        output = translation.text
        timings = zip(translation.tokens, result.stepMs).enumerated().map { i, pair in
            TokenTiming(id: i, token: pair.0, ms: pair.1)
        }
        let steps = Stats.latency(result.stepMs)
        stepLatency = steps
        let total = result.encoderMs + result.stepMs.reduce(0, +)
        let decoding = beamWidth > 1 ? "beam \(beamWidth)" : "greedy"
        summary = String(format: "%@ · encoder %.1f ms · %ld steps, p50 %.1f ms/step · total %.0f ms",
                         decoding, result.encoderMs, result.stepMs.count, steps?.p50 ?? 0, total)
    }
}
