import CoreML
import Foundation
import MobileKitCore
import MobileKitCoreML

/// One translation's output, as plain values for the main actor.
struct Translation: Sendable {
    let text: String
    let result: DecodeResult
    /// The token text of each generated id.
    let tokens: [String]
}

/// The translator's own thread: an actor whose executor is one serial dispatch queue, so the
/// Core ML encoder and decoder are created and run on that queue only, off the main thread
/// and off Swift's shared cooperative pool (each prediction blocks).
actor TranslateWorker {
    private let queue = DispatchSerialQueue(label: "dev.mobilekit.demo.translate", qos: .userInitiated)
    nonisolated var unownedExecutor: UnownedSerialExecutor { queue.asUnownedSerialExecutor() }

    private var pipeline: TranslationPipeline?
    private var runner: CoreMLSeq2SeqRunner?
    private var generation = 0

    /// Loads the encoder and decoder of one variant (a pair the SDK verified together). A newer
    /// load started while this one compiles wins: this one then throws CancellationError.
    func load(_ choice: ModelChoice, bundle: AppBundle, spec: TranslationSpec, units: MLComputeUnits) async throws {
        generation += 1
        let mine = generation
        pipeline = nil
        runner = nil
        guard let encoderArtifact = choice.encoder, let decoderArtifact = choice.decoder else {
            throw DemoError.noArtifact("encoder and decoder of one variant")
        }
        let tokenizer = try BPETokenizer(contentsOf: bundle.url(spec.tokenizer))
        let encoderURL = try await ModelCompiler.compiledURL(encoderArtifact, in: bundle)
        let decoderURL = try await ModelCompiler.compiledURL(decoderArtifact, in: bundle)
        guard mine == generation else { throw CancellationError() }
        let encoder = try ModelCompiler.model(at: encoderURL, units: units)
        let decoder = try ModelCompiler.model(at: decoderURL, units: units)
        runner = try CoreMLSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                         encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact)
        pipeline = TranslationPipeline(tokenizer: tokenizer, spec: spec)
    }

    func translate(_ text: String) throws -> Translation {
        guard let pipeline, let runner else { throw DemoError.badModel("The models are not loaded yet.") }
        let (out, result) = try pipeline.translate(text, runner: runner)
        let tokens = result.ids.map { pipeline.tokenizer.idToToken[$0] ?? "#\($0)" }
        return Translation(text: out, result: result, tokens: tokens)
    }
}
