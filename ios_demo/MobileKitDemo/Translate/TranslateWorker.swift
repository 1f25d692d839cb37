import CoreML
import Foundation
import MobileKitCore
import MobileKitCoreML

/// What a load tells the screen about the translator it made.
struct LoadedTranslator: Sendable {
    /// Beam widths to offer (1 = greedy; more only when the manifest allows beam search).
    let beamWidths: [Int]
    /// The bundle tokenizer's components, e.g. "NFKC + Metaspace + Unigram".
    let tokenizer: String
}

/// One translation's output, as plain values for the main actor.
struct Translation: Sendable {
    let text: String
    let result: DecodeResult
    /// The token text of each generated id.
    let tokens: [String]
}

/// The loaded pair behind the core's decoding, whichever runtime runs it.
private enum PairRunner {
    case coreML(CoreMLSeq2SeqRunner)
    case executorch(ExecuTorchSeq2SeqRunner)
}

/// The translator's own thread: an actor whose executor is one serial dispatch queue, so the
/// encoder and decoder (Core ML models or ExecuTorch modules) are created and run on that queue
/// only, off the main thread and off Swift's shared cooperative pool (each prediction blocks).
actor TranslateWorker {
    private let queue = DispatchSerialQueue(label: "dev.mobilekit.demo.translate", qos: .userInitiated)
    nonisolated var unownedExecutor: UnownedSerialExecutor { queue.asUnownedSerialExecutor() }

    private var translator: Translator?
    private var runner: PairRunner?
    private var generation = 0

    /// Loads the encoder and decoder of one variant (a pair the SDK verified together) with the
    /// choice's runtime: Core ML models (compiled first; `units` applies) or ExecuTorch programs
    /// (memory-mapped from the app bundle; their backend is fixed by the export). A newer load
    /// started while this one compiles wins: this one then throws CancellationError.
    /// Any translation bundle: its own tokenizer.json (BPE or Unigram, as the file declares;
    /// an unsupported component is an error naming it), the decoder wiring, start and forced
    /// tokens from its manifest.
    func load(_ choice: ModelChoice, bundle: AppBundle, spec: TranslationSpec, units: MLComputeUnits) async throws -> LoadedTranslator {
        generation += 1
        let mine = generation
        translator = nil
        runner = nil
        guard let encoderArtifact = choice.encoder, let decoderArtifact = choice.decoder else {
            throw DemoError.noArtifact("encoder and decoder of one variant")
        }
        let tokenizer = try HFTokenizer(contentsOf: bundle.url(spec.tokenizer))
        switch choice.runtime {
        case .coreML:
            let encoderURL = try await ModelCompiler.compiledURL(encoderArtifact, in: bundle)
            let decoderURL = try await ModelCompiler.compiledURL(decoderArtifact, in: bundle)
            guard mine == generation else { throw CancellationError() }
            let encoder = try ModelCompiler.model(at: encoderURL, units: units)
            let decoder = try ModelCompiler.model(at: decoderURL, units: units)
            runner = .coreML(try CoreMLSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                                     encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact))
        case .executorchXNNPACK, .executorchCoreML:
            let encoder = try ExecuTorchPrograms.load(bundle.url(encoderArtifact.path))
            let decoder = try ExecuTorchPrograms.load(bundle.url(decoderArtifact.path))
            runner = .executorch(try ExecuTorchSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                                             encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact))
        case nil:
            throw DemoError.badModel(ModelChoices.noneMessage(bundle.manifest, what: "encoder/decoder pair"))
        }
        let made = Translator(tokenizer: tokenizer, spec: spec)
        translator = made
        return LoadedTranslator(beamWidths: made.beamWidths, tokenizer: tokenizer.summary)
    }

    /// Greedy decoding for width 1, beam search (one decoder cache per beam) otherwise.
    func translate(_ text: String, beamWidth: Int) throws -> Translation {
        guard let translator, let runner else { throw DemoError.badModel("The models are not loaded yet.") }
        let width = translator.beamWidths.contains(beamWidth) ? beamWidth : 1
        let done: (text: String, result: DecodeResult)
        switch runner {
        case .coreML(let r): done = try translator.translate(text, runner: r, beamWidth: width)
        case .executorch(let r): done = try translator.translate(text, runner: r, beamWidth: width)
        }
        return Translation(text: done.text, result: done.result, tokens: translator.tokenizer.tokens(done.result.ids))
    }
}
