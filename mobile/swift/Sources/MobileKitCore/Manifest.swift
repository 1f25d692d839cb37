import Foundation

public enum ManifestError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "manifest.json: \(why)"
        }
    }
}

/// `x = (pixel * scale - mean) / std`, per channel, as the manifest's `preprocessing` says.
public struct Preprocessing: Codable, Equatable, Sendable {
    public var mean: [Double]
    public var std: [Double]
    public var scale: Double
    public var color: String  // "RGB", "BGR" or "GRAY"

    public init(mean: [Double] = [0, 0, 0], std: [Double] = [1, 1, 1], scale: Double = 1, color: String = "RGB") {
        self.mean = mean
        self.std = std
        self.scale = scale
        self.color = color
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mean = try c.decodeIfPresent([Double].self, forKey: .mean) ?? [0, 0, 0]
        std = try c.decodeIfPresent([Double].self, forKey: .std) ?? [1, 1, 1]
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? 1
        color = try c.decodeIfPresent(String.self, forKey: .color) ?? "RGB"
    }
}

/// A tensor of the model spec or of one artifact (`inputs` / `outputs` entries).
public struct TensorSpec: Codable, Equatable, Sendable {
    public var name: String
    public var tensor: String?  // the name inside the artifact, when it differs
    public var shape: [Int]?
    public var dtype: String?
    public var layout: String?
    public var role: String?  // optional hint for translation graphs: "source_ids", "token", "cache", …
    public var preprocessing: Preprocessing?
    public var labels: String?  // bundle-relative labels file

    public init(name: String, tensor: String? = nil, shape: [Int]? = nil, dtype: String? = nil, layout: String? = nil,
                role: String? = nil, preprocessing: Preprocessing? = nil, labels: String? = nil) {
        self.name = name
        self.tensor = tensor
        self.shape = shape
        self.dtype = dtype
        self.layout = layout
        self.role = role
        self.preprocessing = preprocessing
        self.labels = labels
    }

    /// The name to feed or read in the model file.
    public var modelName: String { (tensor?.isEmpty == false ? tensor : nil) ?? name }
    public var isInteger: Bool { (dtype ?? "").hasPrefix("int") || (dtype ?? "").hasPrefix("uint") }
    public var elementCount: Int { (shape ?? []).reduce(1) { $0 * Swift.max($1, 1) } }
}

/// One artifact of the bundle.
public struct Artifact: Codable, Equatable, Sendable {
    public var target: String
    public var variant: String
    public var path: String
    public var sha256: String?
    public var sizeBytes: Int?
    public var status: String
    public var layout: String?
    public var precision: String?
    public var graph: String?  // "encoder" / "decoder" in translation bundles
    public var minOS: String?
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    /// Why it is not verified, when it is not (`status_reason`).
    public var statusReason: String?
    /// The host benchmark's median, when the export measured one (`latency_ms.p50`).
    public var hostP50Ms: Double?
    /// ExecuTorch programs: the backend the export delegated to (`details.backend`, e.g. "CoreMLBackend").
    public var backend: String?

    enum CodingKeys: String, CodingKey {
        case target, variant, path, sha256, status, layout, precision, graph, inputs, outputs
        case minOS = "min_os"
        case sizeBytes = "size_bytes"
        case statusReason = "status_reason"
        case latencyMs = "latency_ms"
        case details
    }

    struct HostLatency: Decodable {
        var p50: Double?
    }

    struct Details: Codable {
        var backend: String?
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(variant, forKey: .variant)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(sha256, forKey: .sha256)
        try c.encodeIfPresent(sizeBytes, forKey: .sizeBytes)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(layout, forKey: .layout)
        try c.encodeIfPresent(precision, forKey: .precision)
        try c.encodeIfPresent(graph, forKey: .graph)
        try c.encodeIfPresent(minOS, forKey: .minOS)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(outputs, forKey: .outputs)
        try c.encodeIfPresent(statusReason, forKey: .statusReason)
        try c.encodeIfPresent(hostP50Ms.map { ["p50": $0] }, forKey: .latencyMs)
        try c.encodeIfPresent(backend.map { Details(backend: $0) }, forKey: .details)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        target = try c.decode(String.self, forKey: .target)
        variant = try c.decodeIfPresent(String.self, forKey: .variant) ?? ""
        path = try c.decodeIfPresent(String.self, forKey: .path) ?? ""
        sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
        sizeBytes = try c.decodeIfPresent(Int.self, forKey: .sizeBytes)
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? "unverified"
        layout = try c.decodeIfPresent(String.self, forKey: .layout)
        precision = try c.decodeIfPresent(String.self, forKey: .precision)
        graph = try c.decodeIfPresent(String.self, forKey: .graph)
        minOS = try c.decodeIfPresent(String.self, forKey: .minOS)
        inputs = try c.decodeIfPresent([TensorSpec].self, forKey: .inputs) ?? []
        outputs = try c.decodeIfPresent([TensorSpec].self, forKey: .outputs) ?? []
        statusReason = try c.decodeIfPresent(String.self, forKey: .statusReason)
        // Informational only: a latency object of another shape never makes the manifest unreadable.
        hostP50Ms = (try? c.decodeIfPresent(HostLatency.self, forKey: .latencyMs))?.p50
        backend = (try? c.decodeIfPresent(Details.self, forKey: .details))?.backend  // the rest of details is the export's report
    }

    public var verified: Bool { status == "verified" }

    public var usable: Bool { status != "failed" && !path.isEmpty }
    public var label: String { "\(target)/\(variant)" }
}

public struct SpecialTokens: Codable, Equatable, Sendable {
    public var pad: Int
    /// The id fed at decoder step 0 (Hugging Face bundles: the model's decoder_start_token_id).
    public var bos: Int
    public var eos: Int
    public var unk: Int
    /// Hugging Face bundles: decoder_start_token_id again, and the model's own `<s>` when it has one.
    public var decoderStart: Int?
    public var modelBos: Int?

    enum CodingKeys: String, CodingKey {
        case pad, bos, eos, unk
        case decoderStart = "decoder_start"
        case modelBos = "model_bos"
    }

    public init(pad: Int = 0, bos: Int = 1, eos: Int = 2, unk: Int = 3, decoderStart: Int? = nil, modelBos: Int? = nil) {
        self.pad = pad
        self.bos = bos
        self.eos = eos
        self.unk = unk
        self.decoderStart = decoderStart
        self.modelBos = modelBos
    }
}

/// `translation.decoder_start` of Hugging Face bundles: what generate() feeds first and forces.
public struct DecoderStart: Codable, Equatable, Sendable {
    /// Fed at position 0 (decoder_start_token_id).
    public var token: Int?
    /// Replaces the first generated token (forced_bos_token_id, e.g. M2M100's target language).
    public var forcedBos: Int?
    /// Replaces the token of the last allowed step (forced_eos_token_id).
    public var forcedEos: Int?

    enum CodingKeys: String, CodingKey {
        case token
        case forcedBos = "forced_bos"
        case forcedEos = "forced_eos"
    }

    public init(token: Int? = nil, forcedBos: Int? = nil, forcedEos: Int? = nil) {
        self.token = token
        self.forcedBos = forcedBos
        self.forcedEos = forcedEos
    }
}

/// The inputs and outputs of the encoder or of the decoder step.
public struct GraphIO: Codable, Equatable, Sendable {
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
}

public struct CacheSpec: Codable, Equatable, Sendable {
    public var layers: Int?
    public var heads: Int?
    public var headDim: Int?

    enum CodingKeys: String, CodingKey {
        case layers, heads
        case headDim = "head_dim"
    }
}

/// The manifest's `translation` object (translation bundles only).
public struct TranslationSpec: Codable, Equatable, Sendable {
    public var tokenizer: String
    public var specialTokens: SpecialTokens
    public var vocabSize: Int
    public var maxSourceLen: Int
    public var maxTargetLen: Int
    public var sourceFormat: String?
    public var encoder: GraphIO
    public var decoder: GraphIO
    public var cache: CacheSpec?
    /// Bundle-relative golden samples file (`assets/golden/translation.json`), when listed.
    public var golden: String?
    /// Hugging Face bundles: the start token and the forced first/last tokens.
    public var decoderStart: DecoderStart?
    /// The beam-search contract, when the bundle allows beam search (`beam_search`).
    public var beamSearch: String?

    enum CodingKeys: String, CodingKey {
        case tokenizer, encoder, decoder, cache, golden
        case specialTokens = "special_tokens"
        case vocabSize = "vocab_size"
        case maxSourceLen = "max_source_len"
        case maxTargetLen = "max_target_len"
        case sourceFormat = "source_format"
        case decoderStart = "decoder_start"
        case beamSearch = "beam_search"
    }

    /// A Hugging Face bundle: its source ids come from the tokenizer's own post-processor and
    /// its text is decoded with skip_special_tokens (the shipped kind drops only pad/bos/eos).
    public var isHuggingFace: Bool { decoderStart != nil }

    /// Beam search is offered when the manifest states its contract.
    public var allowsBeamSearch: Bool { !(beamSearch ?? "").isEmpty }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenizer = try c.decode(String.self, forKey: .tokenizer)
        specialTokens = try c.decodeIfPresent(SpecialTokens.self, forKey: .specialTokens) ?? SpecialTokens()
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        maxSourceLen = try c.decode(Int.self, forKey: .maxSourceLen)
        maxTargetLen = try c.decode(Int.self, forKey: .maxTargetLen)
        sourceFormat = try? c.decodeIfPresent(String.self, forKey: .sourceFormat)  // a description; other shapes ignored
        self.encoder = try c.decode(GraphIO.self, forKey: .encoder)
        self.decoder = try c.decode(GraphIO.self, forKey: .decoder)
        cache = try? c.decodeIfPresent(CacheSpec.self, forKey: .cache)
        golden = try? c.decodeIfPresent(String.self, forKey: .golden)
        decoderStart = try? c.decodeIfPresent(DecoderStart.self, forKey: .decoderStart)
        beamSearch = try? c.decodeIfPresent(String.self, forKey: .beamSearch)
    }
}

/// The parts of `manifest.json` (schema mobilekit.manifest/1) the app configures itself from.
public struct BundleManifest: Codable, Equatable, Sendable {
    public static let schemaName = "mobilekit.manifest/1"

    public var schema: String
    public var name: String
    public var version: String
    public var task: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    public var artifacts: [Artifact]
    public var golden: String?
    public var translation: TranslationSpec?

    enum CodingKeys: String, CodingKey {
        case schema, name, version, task, inputs, outputs, artifacts, golden, translation
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        task = try c.decodeIfPresent(String.self, forKey: .task) ?? ""
        inputs = try c.decodeIfPresent([TensorSpec].self, forKey: .inputs) ?? []
        outputs = try c.decodeIfPresent([TensorSpec].self, forKey: .outputs) ?? []
        artifacts = try c.decodeIfPresent([Artifact].self, forKey: .artifacts) ?? []
        golden = try c.decodeIfPresent(String.self, forKey: .golden)
        translation = try c.decodeIfPresent(TranslationSpec.self, forKey: .translation)
    }

    public static func parse(_ data: Data) throws -> BundleManifest {
        let manifest: BundleManifest
        do {
            manifest = try JSONDecoder().decode(BundleManifest.self, from: data)
        } catch let error as DecodingError {
            throw ManifestError.invalid(Self.explain(error))
        }
        guard manifest.schema == schemaName else {
            throw ManifestError.invalid("schema \(manifest.schema) is not \(schemaName)")
        }
        if manifest.task == "translation" && manifest.translation == nil {
            throw ManifestError.invalid("a translation bundle without a translation object")
        }
        return manifest
    }

    public static func load(_ url: URL) throws -> BundleManifest {
        try parse(Data(contentsOf: url))
    }

    /// Usable artifacts for one target (e.g. "coreml"), optionally of one graph ("encoder").
    public func artifacts(target: String, graph: String? = nil) -> [Artifact] {
        artifacts.filter { $0.target == target && $0.usable && (graph == nil || $0.graph == graph) }
    }

    /// The bundle-relative labels file of the first output that has one.
    public var labelsPath: String? { outputs.first { $0.labels != nil }?.labels }

    /// The image input: its size and layout from the spec shape (NCHW when a 1/3 channel axis is second).
    public var imageInput: ImageInputSpec? {
        guard let input = inputs.first, let shape = input.shape, shape.count == 4 else { return nil }
        let nchw = (input.layout ?? "").uppercased() == "NCHW" || ((input.layout ?? "").isEmpty && (shape[1] == 1 || shape[1] == 3))
        return ImageInputSpec(
            name: input.name,
            width: nchw ? shape[3] : shape[2],
            height: nchw ? shape[2] : shape[1],
            channels: nchw ? shape[1] : shape[3],
            layout: nchw ? .nchw : .nhwc,
            preprocessing: input.preprocessing ?? Preprocessing()
        )
    }

    private static func explain(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let ctx):
            return "missing \(path(ctx.codingPath + [key]))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { key in key.intValue.map { index in "[\(index)]" } ?? ".\(key.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}

public enum TensorLayout: String, Equatable, Sendable {
    case nchw = "NCHW"
    case nhwc = "NHWC"
}

public struct ImageInputSpec: Equatable, Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var channels: Int
    public var layout: TensorLayout
    public var preprocessing: Preprocessing

    public init(name: String, width: Int, height: Int, channels: Int, layout: TensorLayout, preprocessing: Preprocessing) {
        self.name = name
        self.width = width
        self.height = height
        self.channels = channels
        self.layout = layout
        self.preprocessing = preprocessing
    }
}

/// Labels, one a line (a trailing empty line is ignored).
public func parseLabels(_ text: String) -> [String] {
    var lines = text.components(separatedBy: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
    while lines.last == "" { lines.removeLast() }
    return lines
}
