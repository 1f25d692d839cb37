import CoreVideo
import MobileKitCore

/// A classifier the camera's frames go through, whatever runs it (Core ML's Classifier,
/// ExecuTorchClassifier). Not Sendable: made, used and dropped on FrameClassifier's queue only.
protocol FrameModel: AnyObject {
    /// The top `k` labels of one frame (portrait, as the camera delivers it).
    func classify(_ frame: CVPixelBuffer, k: Int) throws -> [Prediction]
}
