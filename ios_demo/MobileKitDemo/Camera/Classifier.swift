import CoreML
import CoreVideo
import Foundation
import MobileKitCore
import MobileKitCoreML
import Vision

/// One Core ML image classifier from a bundle (the Core ML runtime's FrameModel). Models with an image input (what mobilekit's
/// coreml target exports: ImageType with the manifest's scale/bias) run through Vision, which
/// scales and crops the frame; models with a tensor input get the core's preprocessing.
final class Classifier: FrameModel {
    let labels: [String]
    private let model: MLModel
    private let request: VNCoreMLRequest?
    private let tensorInput: (name: String, spec: ImageInputSpec, shape: [Int])?
    private let scoresOutput: String?

    init(model: MLModel, manifest: BundleManifest, artifact: Artifact, labels: [String]) throws {
        self.model = model
        self.labels = labels
        let description = model.modelDescription
        scoresOutput = artifact.outputs.first?.modelName ?? manifest.outputs.first?.name
        if description.inputDescriptionsByName.values.contains(where: { $0.type == .image }) {
            let request = VNCoreMLRequest(model: try VNCoreMLModel(for: model))
            request.imageCropAndScaleOption = .centerCrop
            self.request = request
            tensorInput = nil
        } else {
            guard let spec = manifest.imageInput else { throw DemoError.badModel("The manifest has no image input.") }
            let io = artifact.inputs.first
            let name = io?.modelName ?? spec.name
            guard let shape = description.inputDescriptionsByName[name]?.multiArrayConstraint?.shape.map({ $0.intValue }) else {
                throw DemoError.badModel("The model has no input \(name).")
            }
            var tensorSpec = spec
            if (io?.layout ?? "").uppercased() == "NHWC" { tensorSpec.layout = .nhwc }
            request = nil
            tensorInput = (name: name, spec: tensorSpec, shape: shape)
        }
    }

    /// The top `k` labels of one frame (portrait, as the camera delivers it).
    func classify(_ frame: CVPixelBuffer, k: Int) throws -> [Prediction] {
        if let request {
            let handler = VNImageRequestHandler(cvPixelBuffer: frame, orientation: .up, options: [:])
            try handler.perform([request])
            return predictions(request.results ?? [], k: k)
        }
        guard let input = tensorInput,
              let image = PixelBufferImage.modelImage(frame, width: input.spec.width, height: input.spec.height) else { return [] }
        let values = Preprocess.tensor(image, spec: input.spec)
        let array = try MultiArrays.make(values, shape: input.shape, type: MultiArrays.declaredType(model, input: input.name))
        let features = try MLDictionaryFeatureProvider(dictionary: [input.name: MLFeatureValue(multiArray: array)])
        let output = try model.prediction(from: features)
        guard let scores = scoresArray(output) else { return [] }
        return TopK.predictions(MultiArrays.floats(scores), labels: labels, k: k)
    }

    private func predictions(_ results: [VNObservation], k: Int) -> [Prediction] {
        let classes = results.compactMap { $0 as? VNClassificationObservation }
        if !classes.isEmpty {
            // Vision sorts them, highest confidence first (probabilities: the classifier adds softmax).
            return classes.prefix(k).map { c in
                Prediction(index: labels.firstIndex(of: c.identifier) ?? -1, label: c.identifier, score: c.confidence)
            }
        }
        let arrays = results.compactMap { ($0 as? VNCoreMLFeatureValueObservation)?.featureValue.multiArrayValue }
        guard let scores = arrays.first else { return [] }
        return TopK.predictions(MultiArrays.floats(scores), labels: labels, k: k)
    }

    private func scoresArray(_ output: MLFeatureProvider) -> MLMultiArray? {
        if let name = scoresOutput, let array = output.featureValue(for: name)?.multiArrayValue { return array }
        return output.featureNames.sorted().compactMap { output.featureValue(for: $0)?.multiArrayValue }.first
    }
}
