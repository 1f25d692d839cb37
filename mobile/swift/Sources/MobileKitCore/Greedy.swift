import Foundation

/// The model side of translation, one implementation per runtime (Core ML in the app, a
/// replaying fake in the tests): run the encoder once, then the decoder one token at a time.
public protocol Seq2SeqRunner: AnyObject {
    /// Runs the encoder over padded source ids and resets the decoder state (its cache).
    func start(sourceIds: [Int]) throws
    /// Feeds `token` at decoder position `position` (0 for `<bos>`); returns the logits over
    /// the vocabulary for the next token.
    func step(token: Int, position: Int) throws -> [Float]
}

public struct DecodeResult: Equatable, Sendable {
    /// Generated ids, without `<bos>`, with the final `<eos>` when decoding stopped at it.
    public var ids: [Int]
    /// Milliseconds of each decoder step.
    public var stepMs: [Double]
    /// Milliseconds of the encoder.
    public var encoderMs: Double
    public var stoppedAtEos: Bool

    /// The generated ids without `<eos>`, i.e. what is turned into text.
    public func textIds(eos: Int) -> [Int] {
        stoppedAtEos && ids.last == eos ? Array(ids.dropLast()) : ids
    }
}

public enum GreedyDecoder {
    /// Greedy decoding: start from `<bos>`, feed one token per step, take the argmax (lowest
    /// index on ties), stop at `<eos>` or after `maxTargetLen - 1` generated tokens.
    /// `clock` returns seconds (injected so tests need no real time).
    public static func decode(
        sourceIds: [Int],
        runner: Seq2SeqRunner,
        special: SpecialTokens,
        maxTargetLen: Int,
        clock: () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) throws -> DecodeResult {
        try decode(sourceIds: sourceIds, runner: runner,
                   contract: DecodingContract(start: special.bos, eos: special.eos, maxTargetLen: maxTargetLen), clock: clock)
    }

    /// The same loop with the contract's start token, and its forced tokens (forced_bos replaces
    /// the first token, forced_eos the last allowed one), as mobilekit.tasks.decoding.greedy.
    public static func decode(
        sourceIds: [Int],
        runner: Seq2SeqRunner,
        contract: DecodingContract,
        clock: () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) throws -> DecodeResult {
        let t0 = clock()
        try runner.start(sourceIds: sourceIds)
        let encoderMs = (clock() - t0) * 1000
        var ids: [Int] = []
        var stepMs: [Double] = []
        var token = contract.start
        var stopped = false
        while ids.count < contract.limit {
            let start = clock()
            let logits = try runner.step(token: token, position: ids.count)
            stepMs.append((clock() - start) * 1000)
            token = contract.forced(position: ids.count) ?? TopK.argmax(logits)
            ids.append(token)
            if token == contract.eos {
                stopped = true
                break
            }
        }
        return DecodeResult(ids: ids, stepMs: stepMs, encoderMs: encoderMs, stoppedAtEos: stopped)
    }
}

/// Text in, text out: the tokenizer, the source layout and greedy decoding together.
public struct TranslationPipeline: Sendable {
    public let tokenizer: BPETokenizer
    public let spec: TranslationSpec
    public let format: SourceFormat

    public init(tokenizer: BPETokenizer, spec: TranslationSpec) {
        self.tokenizer = tokenizer
        self.spec = spec
        self.format = SourceFormat(description: spec.sourceFormat)
    }

    public func sourceIds(_ text: String) -> [Int] {
        format.sourceIds(tokenizer.encode(text), special: spec.specialTokens, length: spec.maxSourceLen)
    }

    public func translate(_ text: String, runner: Seq2SeqRunner) throws -> (text: String, result: DecodeResult) {
        let result = try GreedyDecoder.decode(
            sourceIds: sourceIds(text), runner: runner, special: spec.specialTokens, maxTargetLen: spec.maxTargetLen
        )
        return (tokenizer.decode(result.textIds(eos: spec.specialTokens.eos)), result)
    }
}
