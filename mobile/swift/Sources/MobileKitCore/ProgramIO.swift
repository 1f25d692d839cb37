import Foundation

/// The element types the app feeds ExecuTorch programs (what mobilekit's executorch target declares).
public enum ProgramDType: String, Equatable, Sendable {
    case float32, int32, int64

    /// The manifest's dtype, `fallback` when it names none.
    public static func of(_ tensor: TensorSpec, fallback: ProgramDType) throws -> ProgramDType {
        guard let name = tensor.dtype else { return fallback }
        guard let dtype = ProgramDType(rawValue: name) else { throw ProgramIOError.dtype(tensor: tensor.name, dtype: name) }
        return dtype
    }
}

public enum ProgramIOError: Error, CustomStringConvertible, Equatable, Sendable {
    case dtype(tensor: String, dtype: String)
    case noInputs(String)
    case noFeed(graph: String, tensor: String)
    case count(tensor: String, values: Int, shape: [Int])
    case noOutput(graph: String, tensor: String)
    case outputs(graph: String, got: Int, listed: Int)

    public var description: String {
        switch self {
        case .dtype(let tensor, let dtype): return "input \(tensor): the app cannot feed dtype \(dtype) to an ExecuTorch program"
        case .noInputs(let path): return "the manifest lists no inputs for \(path): re-export the bundle with this mobilekit"
        case .noFeed(let graph, let tensor): return "nothing to feed the \(graph) input \(tensor)"
        case .count(let tensor, let values, let shape): return "input \(tensor) has \(values) values; the manifest's shape \(shape) holds \(shape.reduce(1, *))"
        case .noOutput(let graph, let tensor): return "the \(graph) lists no output \(tensor)"
        case .outputs(let graph, let got, let listed): return "the \(graph) gave \(got) output(s); the manifest lists \(listed)"
        }
    }
}

/// One positional value of a program call.
public enum ProgramValue: Equatable, Sendable {
    /// Integers (source ids, a mask, a token, a position) in the declared dtype and shape.
    case ints([Int], dtype: ProgramDType, shape: [Int])
    /// An encoder output the runner kept, by its manifest name.
    case memory(String)
    /// The decoder cache the runner holds for this input (zeros, then the last step's output).
    case cache(String)
}

/// A translation pair run as ExecuTorch programs: `forward` takes positional values, so every
/// call is laid out here from the manifest, free of ExecuTorch: each artifact's `inputs` in
/// order (their dtypes and shapes; the `translation` lists when an artifact has none), what each
/// one is from the core's Seq2SeqPlan, and where the logits and each next cache are among the
/// decoder's outputs. The app's ExecuTorch runner only turns these into tensors.
public struct Seq2SeqProgramIO: Sendable {
    public let encoderInputs: [TensorSpec]
    public let encoderOutputs: [TensorSpec]
    public let decoderInputs: [TensorSpec]
    public let decoderOutputs: [TensorSpec]
    /// Decoder cache inputs: their zero state's shape and dtype.
    public let caches: [(name: String, shape: [Int], dtype: ProgramDType)]
    /// Each cache input ← the index of the decoder output that feeds it next step.
    public let cacheOutputs: [(input: String, output: Int)]
    public let logitsOutput: Int
    private let encoderRoles: [String: EncoderInput]
    private let decoderRoles: [String: DecoderInput]
    private let pad: Int

    public init(spec: TranslationSpec, encoder: Artifact, decoder: Artifact) throws {
        let plan = try Seq2SeqPlan(spec: spec)
        let eIn = encoder.inputs.isEmpty ? spec.encoder.inputs : encoder.inputs
        let eOut = encoder.outputs.isEmpty ? spec.encoder.outputs : encoder.outputs
        let dIn = decoder.inputs.isEmpty ? spec.decoder.inputs : decoder.inputs
        let dOut = decoder.outputs.isEmpty ? spec.decoder.outputs : decoder.outputs
        if eIn.isEmpty { throw ProgramIOError.noInputs(encoder.path) }
        if dIn.isEmpty { throw ProgramIOError.noInputs(decoder.path) }
        // roles by name: the artifact's own list may order the tensors differently from `translation`
        let eRoles = Dictionary(plan.encoderInputs.map { ($0.tensor.name, $0.role) }, uniquingKeysWith: { a, _ in a })
        let dRoles = Dictionary(plan.decoderInputs.map { ($0.tensor.name, $0.role) }, uniquingKeysWith: { a, _ in a })
        for t in eIn where eRoles[t.name] == nil { throw ProgramIOError.noFeed(graph: "encoder", tensor: t.name) }
        var caches: [(name: String, shape: [Int], dtype: ProgramDType)] = []
        for t in dIn {
            switch dRoles[t.name] {
            case nil:
                throw ProgramIOError.noFeed(graph: "decoder", tensor: t.name)
            case .memory(let name) where !eOut.contains(where: { $0.name == name }):
                throw ProgramIOError.noOutput(graph: "encoder", tensor: name)
            case .cache:
                caches.append((name: t.name, shape: t.shape ?? [1], dtype: try ProgramDType.of(t, fallback: .float32)))
            default:
                break
            }
        }
        func index(_ name: String) throws -> Int {
            guard let i = dOut.firstIndex(where: { $0.name == name }) else { throw ProgramIOError.noOutput(graph: "decoder", tensor: name) }
            return i
        }
        logitsOutput = try index(plan.logits.name)
        cacheOutputs = try plan.cachePairs.map { (input: $0.input.name, output: try index($0.output.name)) }
        encoderInputs = eIn
        encoderOutputs = eOut
        decoderInputs = dIn
        decoderOutputs = dOut
        encoderRoles = eRoles
        decoderRoles = dRoles
        self.caches = caches
        pad = spec.specialTokens.pad
    }

    /// The encoder's values for padded `sourceIds`, in its manifest order.
    public func encoderValues(sourceIds: [Int]) throws -> [ProgramValue] {
        try encoderInputs.map { t in
            switch encoderRoles[t.name] {
            case .sourceIds: return try Self.ints(sourceIds, t)
            case .sourceMask(let padMeansOne): return try Self.ints(Seq2SeqPlan.mask(sourceIds, pad: pad, padMeansOne: padMeansOne), t)
            case nil: throw ProgramIOError.noFeed(graph: "encoder", tensor: t.name)
            }
        }
    }

    /// The decoder step's values, in its manifest order.
    public func decoderValues(token: Int, position: Int, sourceIds: [Int]) throws -> [ProgramValue] {
        try decoderInputs.map { t in
            switch decoderRoles[t.name] {
            case .token: return try Self.ints([token], t)
            case .position: return try Self.ints([position], t)
            case .sourceIds: return try Self.ints(sourceIds, t)
            case .sourceMask(let padMeansOne): return try Self.ints(Seq2SeqPlan.mask(sourceIds, pad: pad, padMeansOne: padMeansOne), t)
            case .memory(let name): return .memory(name)
            case .cache: return .cache(t.name)
            case nil: throw ProgramIOError.noFeed(graph: "decoder", tensor: t.name)
            }
        }
    }

    /// Fails unless a call gave at least the outputs the manifest lists (they are read by position).
    public func check(outputs count: Int, graph: String) throws {
        let listed = graph == "encoder" ? encoderOutputs.count : decoderOutputs.count
        if count < listed { throw ProgramIOError.outputs(graph: graph, got: count, listed: listed) }
    }

    /// Ids in the input's dtype (int64 when the manifest names none, as the harness does) and shape.
    static func ints(_ values: [Int], _ t: TensorSpec) throws -> ProgramValue {
        let shape = t.shape ?? [1, values.count]
        if shape.reduce(1, *) != values.count { throw ProgramIOError.count(tensor: t.name, values: values.count, shape: shape) }
        return .ints(values, dtype: try ProgramDType.of(t, fallback: .int64), shape: shape)
    }
}
