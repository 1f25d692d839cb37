import CoreVideo
import ExecuTorch
import Foundation
import MobileKitCore

/// One ExecuTorch image classifier (`.pte`, XNNPACK or the Core ML delegate): the core's
/// preprocessing of the frame, read in place from the locked buffer, is written into one input
/// tensor made at load and reused for every frame (no tensor allocation per frame); forward's
/// first output (the manifest's scores) gives the top labels. Lives on FrameClassifier's queue.
final class ExecuTorchClassifier: FrameModel {
    let labels: [String]
    private let module: Module
    private let spec: ImageInputSpec
    private let input: Tensor<Float>
    private let inputValue: Value

    init(url: URL, manifest: BundleManifest, artifact: Artifact, labels: [String]) throws {
        guard var spec = manifest.imageInput else { throw DemoError.badModel("The manifest has no image input.") }
        let declared = artifact.inputs.first
        guard (declared?.dtype ?? "float32") == "float32" else {
            throw DemoError.badModel("\(artifact.label) takes \(declared?.dtype ?? "?") images; the app feeds float32.")
        }
        if (declared?.layout ?? "").uppercased() == "NHWC" { spec.layout = .nhwc }
        let shape = declared?.shape ?? manifest.inputs.first?.shape ?? [1, spec.channels, spec.height, spec.width]
        module = try ExecuTorchPrograms.load(url)
        input = Tensor<Float>([Float](repeating: 0, count: elementCount(ofShape: shape)), shape: shape)
        inputValue = Value(input)  // wraps the same tensor: writing into `input` changes what forward reads
        self.spec = spec
        self.labels = labels
    }

    func classify(_ frame: CVPixelBuffer, k: Int) throws -> [Prediction] {
        guard let image = PixelBufferImage.modelImage(frame, width: spec.width, height: spec.height) else { return [] }
        let values = Preprocess.tensor(image, spec: spec)
        try input.withUnsafeMutableBytes { buffer in
            guard buffer.count == values.count else {
                throw DemoError.badModel("the model takes \(buffer.count) values; the preprocessing gives \(values.count)")
            }
            _ = buffer.update(fromContentsOf: values)
        }
        let outputs = try ExecuTorchPrograms.forward(module, [inputValue])
        guard let scores = outputs.first else { throw ExecuTorchAppError.outputs("the classifier gave no output") }
        return TopK.predictions(try ExecuTorchPrograms.floats(scores), labels: labels, k: k)
    }
}
