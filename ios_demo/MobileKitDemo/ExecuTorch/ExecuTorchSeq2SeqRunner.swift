import ExecuTorch
import Foundation
import MobileKitCore

/// A translation bundle's ExecuTorch encoder and decoder-step programs (one variant, one unit)
/// behind the core's Seq2SeqBeamRunner, as CoreMLSeq2SeqRunner is for Core ML: the core's
/// Seq2SeqProgramIO lays out every call (each artifact's manifest input order and dtypes, what
/// each input is, where the logits and next caches are); the cache starts at zeros and each
/// step's cache outputs are fed back. Outputs kept across calls (encoder memory, cache) are
/// copied, so beam search can hold one cache per beam. Not thread-safe: it lives on the
/// TranslateWorker actor.
final class ExecuTorchSeq2SeqRunner: Seq2SeqBeamRunner {
    private let encoder: Module
    private let decoder: Module
    private let io: Seq2SeqProgramIO
    private let vocabSize: Int
    private var sourceIds: [Int] = []
    private var memory: [String: Value] = [:]  // encoder outputs by manifest name
    private var cache: [String: Value] = [:]  // decoder cache inputs by manifest name

    init(encoder: Module, decoder: Module, spec: TranslationSpec, encoderArtifact: Artifact, decoderArtifact: Artifact) throws {
        self.encoder = encoder
        self.decoder = decoder
        io = try Seq2SeqProgramIO(spec: spec, encoder: encoderArtifact, decoder: decoderArtifact)
        vocabSize = spec.vocabSize
    }

    /// The decoder caches by manifest name: fresh after `start`, the last step's after `step`.
    var decoderState: [String: Value] {
        get { cache }
        set { cache = newValue }
    }

    func start(sourceIds: [Int]) throws {
        self.sourceIds = sourceIds
        let outputs = try ExecuTorchPrograms.forward(encoder, try io.encoderValues(sourceIds: sourceIds).map(value))
        try io.check(outputs: outputs.count, graph: "encoder")
        memory = [:]
        for (i, tensor) in io.encoderOutputs.enumerated() {
            memory[tensor.name] = try ExecuTorchPrograms.copy(outputs[i])
        }
        cache = [:]
        for c in io.caches {
            cache[c.name] = ExecuTorchPrograms.zeros(shape: c.shape, dtype: c.dtype)
        }
    }

    func step(token: Int, position: Int) throws -> [Float] {
        let values = try io.decoderValues(token: token, position: position, sourceIds: sourceIds).map(value)
        let outputs = try ExecuTorchPrograms.forward(decoder, values)
        try io.check(outputs: outputs.count, graph: "decoder")
        for (input, output) in io.cacheOutputs {
            cache[input] = try ExecuTorchPrograms.copy(outputs[output])
        }
        let logits = try ExecuTorchPrograms.floats(outputs[io.logitsOutput])
        return Array(logits[Seq2SeqPlan.logitsRange(count: logits.count, vocabSize: vocabSize, position: position)])
    }

    private func value(_ planned: ProgramValue) throws -> Value {
        switch planned {
        case .ints(let ids, let dtype, let shape):
            return ExecuTorchPrograms.ints(ids, dtype: dtype, shape: shape)
        case .memory(let name):
            guard let value = memory[name] else { throw ExecuTorchAppError.outputs("no encoder output \(name): call start first") }
            return value
        case .cache(let name):
            guard let value = cache[name] else { throw ExecuTorchAppError.outputs("no cache for \(name): call start first") }
            return value
        }
    }
}
