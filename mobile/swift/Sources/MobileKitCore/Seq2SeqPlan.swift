import Foundation

/// What the app feeds each encoder/decoder input, and where each output goes, worked out from
/// the manifest's `translation.encoder` / `translation.decoder` tensor lists. An explicit
/// `"role"` on a tensor wins; otherwise the name and dtype decide (see `EncoderInput`,
/// `DecoderInput`). Kept here, free of Core ML, so it is tested with the rest of the core.
public enum EncoderInput: Equatable, Sendable {
    case sourceIds
    /// 1 where the source is padding (`padMeansOne`), else 1 where it is a real token.
    case sourceMask(padMeansOne: Bool)
}

public enum DecoderInput: Equatable, Sendable {
    case token
    case position
    case sourceIds
    case sourceMask(padMeansOne: Bool)
    /// An encoder output, by its manifest name.
    case memory(String)
    /// A cache tensor: zeros at the first step, then the paired decoder output of the previous step.
    case cache
}

public enum PlanError: Error, CustomStringConvertible, Equatable, Sendable {
    case unknownRole(graph: String, tensor: String)
    case noLogits

    public var description: String {
        switch self {
        case .unknownRole(let graph, let tensor):
            return "manifest.json: cannot tell what the \(graph) input \(tensor) is; give it a \"role\""
        case .noLogits:
            return "manifest.json: the decoder has no outputs"
        }
    }
}

public struct Seq2SeqPlan: Sendable {
    public let encoderInputs: [(tensor: TensorSpec, role: EncoderInput)]
    public let decoderInputs: [(tensor: TensorSpec, role: DecoderInput)]
    public let logits: TensorSpec
    /// Decoder cache input ← decoder output of the previous step.
    public let cachePairs: [(input: TensorSpec, output: TensorSpec)]

    public init(spec: TranslationSpec) throws {
        let encoderOutputs = spec.encoder.outputs.map(\.name)
        let encoderInputs = try spec.encoder.inputs.map { (t: TensorSpec) -> (tensor: TensorSpec, role: EncoderInput) in
            guard let role = Self.encoderRole(t) else { throw PlanError.unknownRole(graph: "encoder", tensor: t.name) }
            return (tensor: t, role: role)
        }
        let decoderInputs = try spec.decoder.inputs.map { (t: TensorSpec) -> (tensor: TensorSpec, role: DecoderInput) in
            guard let role = Self.decoderRole(t, encoderOutputs: encoderOutputs) else {
                throw PlanError.unknownRole(graph: "decoder", tensor: t.name)
            }
            return (tensor: t, role: role)
        }
        let outputs = spec.decoder.outputs
        guard let logits = outputs.first(where: { $0.role == "logits" })
            ?? outputs.first(where: { $0.name.lowercased().contains("logit") })
            ?? outputs.first else { throw PlanError.noLogits }
        let caches = decoderInputs.filter { $0.role == .cache }.map { $0.tensor }
        var rest = outputs.filter { $0.name != logits.name }
        var pairs: [(input: TensorSpec, output: TensorSpec)] = []
        // Same stem first ("new_k_0" / "k_0_out" / "present_k_0" ↔ "k_0" / "past_k_0"), then in order.
        var unpaired: [TensorSpec] = []
        for input in caches {
            if let i = rest.firstIndex(where: { Self.stem($0.name) == Self.stem(input.name) }) {
                pairs.append((input: input, output: rest.remove(at: i)))
            } else {
                unpaired.append(input)
            }
        }
        for input in unpaired where !rest.isEmpty {
            pairs.append((input: input, output: rest.removeFirst()))
        }
        self.encoderInputs = encoderInputs
        self.decoderInputs = decoderInputs
        self.logits = logits
        cachePairs = pairs
    }

    static func has(_ name: String, _ words: [String]) -> Bool {
        let lower = name.lowercased()
        return words.contains { lower.contains($0) }
    }

    static func maskRole(_ t: TensorSpec) -> Bool {
        // PyTorch's key_padding_mask is true at padding; an attention_mask is true at tokens.
        has(t.name, ["padding", "pad_mask", "key_padding"])
    }

    static func encoderRole(_ t: TensorSpec) -> EncoderInput? {
        switch t.role {
        case "source_ids": return .sourceIds
        case "source_mask": return .sourceMask(padMeansOne: maskRole(t))
        case "source_padding_mask": return .sourceMask(padMeansOne: true)
        default: break
        }
        if has(t.name, ["mask"]) { return .sourceMask(padMeansOne: maskRole(t)) }
        if t.isInteger || has(t.name, ["src", "source", "ids", "input", "tokens"]) { return .sourceIds }
        return nil
    }

    static func decoderRole(_ t: TensorSpec, encoderOutputs: [String]) -> DecoderInput? {
        switch t.role {
        case "token": return .token
        case "position": return .position
        case "source_ids": return .sourceIds
        case "source_mask": return .sourceMask(padMeansOne: maskRole(t))
        case "source_padding_mask": return .sourceMask(padMeansOne: true)
        case "memory": return .memory(encoderOutputs.first ?? t.name)
        case "cache": return .cache
        default: break
        }
        if encoderOutputs.contains(t.name) { return .memory(t.name) }
        if has(t.name, ["mask"]) { return .sourceMask(padMeansOne: maskRole(t)) }
        if has(t.name, ["memory", "encoder", "enc_out", "hidden"]) { return .memory(encoderOutputs.first ?? t.name) }
        if has(t.name, ["cache", "past", "key", "value"]) || (!t.isInteger && t.dtype != nil) { return .cache }
        if has(t.name, ["pos", "step", "offset", "index"]) { return .position }
        if has(t.name, ["src", "source"]) { return .sourceIds }
        if t.isInteger || has(t.name, ["token", "ids", "tgt", "target", "input"]) { return .token }
        return nil
    }

    /// A cache tensor's name without the words that mark it as an input or an output.
    static func stem(_ name: String) -> String {
        var s = name.lowercased()
        for prefix in ["new_", "present_", "next_", "updated_", "out_", "past_", "in_", "prev_"] where s.hasPrefix(prefix) {
            s.removeFirst(prefix.count)
        }
        for suffix in ["_out", "_new", "_next", "_updated", "_in", "_prev", "_past"] where s.hasSuffix(suffix) {
            s.removeLast(suffix.count)
        }
        return s
    }

    /// The source mask values for `sourceIds`.
    public static func mask(_ sourceIds: [Int], pad: Int, padMeansOne: Bool) -> [Int] {
        sourceIds.map { ($0 == pad) == padMeansOne ? 1 : 0 }
    }

    /// The logits of the step at `position` from a decoder output of `count` values: a step
    /// decoder gives one row, a whole-sequence decoder one row per position.
    public static func logitsRange(count: Int, vocabSize: Int, position: Int) -> Range<Int> {
        guard vocabSize > 0, count > vocabSize, count % vocabSize == 0 else { return 0..<count }
        let row = min(position, count / vocabSize - 1)
        return (row * vocabSize)..<((row + 1) * vocabSize)
    }
}
