import Foundation

/// Any translation bundle, text in, text out: the bundle's own tokenizer.json (HFTokenizer),
/// the ids of its manifest (decoder start, eos, forced tokens), greedy or beam decoding.
/// Hugging Face bundles (with `translation.decoder_start`): source ids from the tokenizer's
/// post-processor template, text decoded with skip_special_tokens. The shipped kind: tokens
/// then eos (its tokenizer has no post-processor), pad/bos/eos dropped before decoding and
/// other special tokens (`<unk>`) kept, as mobilekit/tasks/tokenizer.py decodes.
public struct Translator: Sendable {
    public let tokenizer: HFTokenizer
    public let spec: TranslationSpec
    public let contract: DecodingContract

    public init(tokenizer: HFTokenizer, spec: TranslationSpec) {
        self.tokenizer = tokenizer
        self.spec = spec
        contract = DecodingContract(spec: spec)
    }

    /// Reads the tokenizer the manifest names (`translation.tokenizer`, bundle-relative).
    public init(bundle: URL, spec: TranslationSpec) throws {
        try self.init(tokenizer: HFTokenizer(contentsOf: bundle.appendingPathComponent(spec.tokenizer)), spec: spec)
    }

    /// Beam widths the app may offer: 1 (greedy) only, unless the manifest allows beam search.
    public var beamWidths: [Int] { spec.allowsBeamSearch ? [1, 2, 3, 4] : [1] }

    public func sourceIds(_ text: String) -> [Int] {
        tokenizer.sourceIds(text, length: spec.maxSourceLen, eos: spec.specialTokens.eos, pad: spec.specialTokens.pad)
    }

    /// The text of generated ids.
    public func text(_ ids: [Int]) -> String {
        if spec.isHuggingFace { return tokenizer.decode(ids, skipSpecialTokens: true) }
        let s = spec.specialTokens
        return tokenizer.decode(ids.filter { $0 != s.pad && $0 != s.bos && $0 != s.eos }, skipSpecialTokens: false)
    }

    /// Greedy decoding.
    public func translate(_ text: String, runner: Seq2SeqRunner) throws -> (text: String, result: DecodeResult) {
        let result = try GreedyDecoder.decode(sourceIds: sourceIds(text), runner: runner, contract: contract)
        return (self.text(result.textIds(eos: contract.eos)), result)
    }

    /// Greedy decoding for width 1, beam search of `beamWidth` beams otherwise.
    public func translate<Runner: Seq2SeqBeamRunner>(
        _ text: String, runner: Runner, beamWidth: Int
    ) throws -> (text: String, result: DecodeResult) {
        guard beamWidth > 1 else { return try translate(text, runner: runner) }
        let result = try BeamSearch.decode(sourceIds: sourceIds(text), runner: runner, contract: contract, width: beamWidth)
        return (self.text(result.textIds(eos: contract.eos)), result)
    }
}
