import CoreML
import Foundation
import MobileKitCore

struct TokenTiming: Identifiable {
    let id: Int
    let token: String
    let ms: Double
}

/// The Translate screen's state: loads the translator bundle (tokenizer, Core ML encoder and
/// decoder step for the chosen variant and compute units) and translates off the main queue.
final class TranslateModel: ObservableObject {
    static let placeholder = "the cat eats an apple."
    @Published var input = TranslateModel.placeholder
    @Published var computeUnits: ComputeUnitsOption = .all
    @Published var variant = ""
    @Published private(set) var variants: [String] = []
    @Published private(set) var output = ""
    @Published private(set) var timings: [TokenTiming] = []
    @Published private(set) var summary = ""
    @Published private(set) var status = "Loading the models…"
    @Published private(set) var busy = false
    @Published private(set) var ready = false

    private let work = DispatchQueue(label: "dev.mobilekit.demo.translate", qos: .userInitiated)
    private var pipeline: TranslationPipeline?
    private var runner: CoreMLSeq2SeqRunner?
    private var loadGeneration = 0

    func reload() {
        loadGeneration += 1
        let generation = loadGeneration
        let units = computeUnits
        let wanted = variant
        ready = false
        status = "Loading the models…"
        Task { @MainActor in
            do {
                let bundle = try AppBundle.load(manifestPath: BundlePaths.translatorManifest)
                guard let spec = bundle.manifest.translation else { throw DemoError.badModel("Not a translation bundle.") }
                let encoders = bundle.coreMLArtifacts(graph: "encoder")
                let decoders = bundle.coreMLArtifacts(graph: "decoder")
                let shared = encoders.map(\.variant).filter { v in decoders.contains { $0.variant == v } }
                guard let chosen = shared.first(where: { $0 == wanted }) ?? shared.first,
                      let encoderArtifact = encoders.first(where: { $0.variant == chosen }),
                      let decoderArtifact = decoders.first(where: { $0.variant == chosen }) else {
                    throw DemoError.noArtifact("encoder and decoder of one variant")
                }
                let tokenizer = try BPETokenizer(contentsOf: bundle.url(spec.tokenizer))
                let encoder = try await ModelCompiler.load(encoderArtifact, in: bundle, units: units.units)
                let decoder = try await ModelCompiler.load(decoderArtifact, in: bundle, units: units.units)
                let runner = try CoreMLSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                                      encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact)
                guard generation == self.loadGeneration else { return }
                self.pipeline = TranslationPipeline(tokenizer: tokenizer, spec: spec)
                self.runner = runner
                self.variants = shared
                if self.variant != chosen { self.variant = chosen }
                self.ready = true
                if self.input == Self.placeholder, let golden = spec.golden, let text = Self.firstSample(bundle.url(golden)) {
                    self.input = text  // a sentence the model knows
                }
                self.status = "\(bundle.manifest.name) \(chosen) · \(units.title)"
            } catch {
                guard generation == self.loadGeneration else { return }
                self.pipeline = nil
                self.runner = nil
                self.status = error.localizedDescription
            }
        }
    }

    func translate() {
        guard let pipeline, let runner, !busy else { return }
        busy = true
        let text = input
        work.async {
            let outcome = Result { try pipeline.translate(text, runner: runner) }
            DispatchQueue.main.async {
                self.busy = false
                switch outcome {
                case .success(let value):
                    self.show(value.text, value.result, pipeline: pipeline)
                case .failure(let error):
                    self.status = error.localizedDescription
                }
            }
        }
    }

    /// The text of the first golden sample, if the bundle lists them.
    static func firstSample(_ url: URL) -> String? {
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let samples = root["samples"] as? [[String: Any]] else { return nil }
        return samples.first?["text"] as? String
    }

    private func show(_ translation: String, _ result: DecodeResult, pipeline: TranslationPipeline) {
        output = translation
        timings = zip(result.ids, result.stepMs).enumerated().map { i, pair in
            TokenTiming(id: i, token: pipeline.tokenizer.idToToken[pair.0] ?? "#\(pair.0)", ms: pair.1)
        }
        let steps = Stats.latency(result.stepMs)
        let total = result.encoderMs + result.stepMs.reduce(0, +)
        summary = String(format: "encoder %.1f ms · %ld steps, p50 %.1f ms/token · total %.0f ms",
                         result.encoderMs, result.stepMs.count, steps?.p50 ?? 0, total)
    }
}
