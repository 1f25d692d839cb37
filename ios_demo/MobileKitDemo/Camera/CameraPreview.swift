import AVFoundation
import SwiftUI
import UIKit

/// The live camera picture (AVCaptureVideoPreviewLayer in a SwiftUI view). The whole frame is
/// shown (aspect fit, not fill), so the framing guide drawn over it can always show all of
/// what the model sees. A rotation coordinator keeps the preview and the frames upright as
/// the device turns (iPad runs in every orientation).
struct CameraPreview: UIViewRepresentable {
    let camera: CameraController
    let running: Bool

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var previewLayer: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
        private var coordinator: AVCaptureDevice.RotationCoordinator?
        private var observations: [NSKeyValueObservation] = []

        /// Starts following the camera's rotation (once per device in use).
        func follow(_ camera: CameraController) {
            // once: the session's camera never changes after it is configured
            guard coordinator == nil, let device = camera.currentDevice() else { return }
            let rotation = AVCaptureDevice.RotationCoordinator(device: device, previewLayer: previewLayer)
            coordinator = rotation
            // The coordinator reports on the main queue.
            observations = [
                rotation.observe(\.videoRotationAngleForHorizonLevelPreview, options: [.initial, .new]) { [weak self] source, _ in
                    let angle = source.videoRotationAngleForHorizonLevelPreview
                    MainActor.assumeIsolated {
                        guard let connection = self?.previewLayer.connection, connection.isVideoRotationAngleSupported(angle) else { return }
                        connection.videoRotationAngle = angle
                    }
                },
                rotation.observe(\.videoRotationAngleForHorizonLevelCapture, options: [.initial, .new]) { source, _ in
                    camera.setRotation(source.videoRotationAngleForHorizonLevelCapture)
                },
            ]
        }
    }

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.previewLayer.session = camera.session
        view.previewLayer.videoGravity = .resizeAspect
        view.backgroundColor = .black
        return view
    }

    func updateUIView(_ uiView: PreviewView, context: Context) {
        if running { uiView.follow(camera) }
    }
}
