#if canImport(CoreML)
import CoreML
import Foundation
import MobileKitCore

/// A Core ML model that lacks an output or input the manifest names.
public enum CoreMLRunnerError: LocalizedError, Sendable {
    case missing(String)

    public var errorDescription: String? {
        switch self {
        case .missing(let what): return what
        }
    }
}

/// The translation bundle's Core ML encoder and decoder-step models behind the core's
/// Seq2SeqRunner: the manifest's `translation.encoder` / `translation.decoder` lists say what
/// each input is (the core's Seq2SeqPlan); cache outputs are fed back as the next step's inputs.
/// Every input is fed in the data type the model file declares (fp16 Core ML models take and
/// give fp16; the manifest speaks of the source model's fp32), converted in bulk where an
/// output feeds an input of another type. For beam search its decoder state (the cache
/// arrays, which predictions never modify in place) is read and set per beam. Not thread-safe: it lives on one
/// thread (the app's TranslateWorker actor, the harness's test).
public final class CoreMLSeq2SeqRunner: Seq2SeqBeamRunner {
    private let encoder: MLModel
    private let decoder: MLModel
    private let spec: TranslationSpec
    private let plan: Seq2SeqPlan
    private let encoderIO: ArtifactNames
    private let decoderIO: ArtifactNames
    private let encoderTypes: [String: MLMultiArrayDataType]  // by model input name
    private let decoderTypes: [String: MLMultiArrayDataType]
    private var sourceIds: [Int] = []
    private var memory: [String: MLMultiArray] = [:]  // encoder outputs by manifest name
    private var cache: [String: MLMultiArray] = [:]  // decoder cache inputs by manifest name

    public init(encoder: MLModel, decoder: MLModel, spec: TranslationSpec, encoderArtifact: Artifact, decoderArtifact: Artifact) throws {
        self.encoder = encoder
        self.decoder = decoder
        self.spec = spec
        plan = try Seq2SeqPlan(spec: spec)
        encoderIO = ArtifactNames(encoderArtifact)
        decoderIO = ArtifactNames(decoderArtifact)
        encoderTypes = Self.inputTypes(encoder)
        decoderTypes = Self.inputTypes(decoder)
    }

    /// The decoder caches by manifest name: fresh after `start`, the last step's after `step`.
    public var decoderState: [String: MLMultiArray] {
        get { cache }
        set { cache = newValue }
    }

    static func inputTypes(_ model: MLModel) -> [String: MLMultiArrayDataType] {
        var out: [String: MLMultiArrayDataType] = [:]
        for (name, description) in model.modelDescription.inputDescriptionsByName {
            if let constraint = description.multiArrayConstraint { out[name] = constraint.dataType }
        }
        return out
    }

    public func start(sourceIds: [Int]) throws {
        self.sourceIds = sourceIds
        var feeds: [String: MLFeatureValue] = [:]
        for (declared, role) in plan.encoderInputs {
            let tensor = encoderIO.input(declared)
            let shape = tensor.shape ?? [1, sourceIds.count]
            let type = encoderTypes[tensor.modelName] ?? .int32
            switch role {
            case .sourceIds:
                feeds[tensor.modelName] = MLFeatureValue(multiArray: try MultiArrays.ints(sourceIds, shape: shape, type: type))
            case .sourceMask(let padMeansOne):
                let mask = Seq2SeqPlan.mask(sourceIds, pad: spec.specialTokens.pad, padMeansOne: padMeansOne)
                feeds[tensor.modelName] = MLFeatureValue(multiArray: try MultiArrays.ints(mask, shape: shape, type: type))
            }
        }
        let output = try encoder.prediction(from: MLDictionaryFeatureProvider(dictionary: feeds))
        memory = [:]
        for declared in spec.encoder.outputs {
            let tensor = encoderIO.output(declared)
            guard let array = output.featureValue(for: tensor.modelName)?.multiArrayValue else {
                throw CoreMLRunnerError.missing("The encoder gave no output \(tensor.modelName).")
            }
            memory[tensor.name] = array
        }
        cache = [:]
        for (declared, role) in plan.decoderInputs where role == .cache {
            let tensor = decoderIO.input(declared)
            cache[tensor.name] = try MultiArrays.make([], shape: tensor.shape ?? [1], type: decoderTypes[tensor.modelName] ?? .float32)
        }
    }

    public func step(token: Int, position: Int) throws -> [Float] {
        var feeds: [String: MLFeatureValue] = [:]
        for (declared, role) in plan.decoderInputs {
            let tensor = decoderIO.input(declared)
            let shape = tensor.shape ?? [1]
            let type = decoderTypes[tensor.modelName] ?? (tensor.isInteger ? .int32 : .float32)
            let array: MLMultiArray
            switch role {
            case .token:
                array = try MultiArrays.ints([token], shape: shape, type: type)
            case .position:
                array = try MultiArrays.ints([position], shape: shape, type: type)
            case .sourceIds:
                array = try MultiArrays.ints(sourceIds, shape: shape, type: type)
            case .sourceMask(let padMeansOne):
                let mask = Seq2SeqPlan.mask(sourceIds, pad: spec.specialTokens.pad, padMeansOne: padMeansOne)
                array = try MultiArrays.ints(mask, shape: shape, type: type)
            case .memory(let name):
                guard let value = memory[name] else { throw CoreMLRunnerError.missing("No encoder output \(name) for \(tensor.name).") }
                array = try MultiArrays.matching(value, type: type)
                memory[name] = array  // converted once per sentence, not once per step
            case .cache:
                guard let value = cache[tensor.name] else { throw CoreMLRunnerError.missing("No cache for \(tensor.name).") }
                array = try MultiArrays.matching(value, type: type)
            }
            feeds[tensor.modelName] = MLFeatureValue(multiArray: array)
        }
        let output = try decoder.prediction(from: MLDictionaryFeatureProvider(dictionary: feeds))
        for pair in plan.cachePairs {
            let name = decoderIO.output(pair.output).modelName
            guard let next = output.featureValue(for: name)?.multiArrayValue else {
                throw CoreMLRunnerError.missing("The decoder gave no output \(name).")
            }
            cache[pair.input.name] = next
        }
        let logitsName = decoderIO.output(plan.logits).modelName
        guard let logits = output.featureValue(for: logitsName)?.multiArrayValue else {
            throw CoreMLRunnerError.missing("The decoder gave no output \(logitsName).")
        }
        let values = MultiArrays.floats(logits)
        return Array(values[Seq2SeqPlan.logitsRange(count: values.count, vocabSize: spec.vocabSize, position: position)])
    }
}

/// How the manifest's tensors are named and typed inside one artifact (its `inputs` /
/// `outputs` entries: `tensor` is the name in the model file), falling back to the declaration.
struct ArtifactNames {
    private let inputs: [String: TensorSpec]
    private let outputs: [String: TensorSpec]

    init(_ artifact: Artifact) {
        inputs = Dictionary(artifact.inputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        outputs = Dictionary(artifact.outputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func input(_ declared: TensorSpec) -> TensorSpec {
        merged(declared, inputs[declared.name])
    }

    func output(_ declared: TensorSpec) -> TensorSpec {
        merged(declared, outputs[declared.name])
    }

    private func merged(_ declared: TensorSpec, _ actual: TensorSpec?) -> TensorSpec {
        guard let actual else { return declared }
        var t = declared
        t.tensor = actual.tensor ?? declared.tensor
        t.dtype = actual.dtype ?? declared.dtype
        t.shape = actual.shape ?? declared.shape
        return t
    }
}
#endif
