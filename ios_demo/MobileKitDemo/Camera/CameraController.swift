import AVFoundation
import CoreVideo
import Foundation

/// The back camera as a stream of BGRA frames. Frames arrive on a background queue; the output
/// drops frames that arrive while the previous one is still being handled (keep-latest).
final class CameraController: NSObject, ObservableObject {
    enum State: Equatable {
        case idle
        case running
        case denied
        case failed(String)
    }

    let session = AVCaptureSession()
    @Published private(set) var state: State = .idle
    /// Called on the frame queue for every frame that is not dropped.
    var onFrame: ((CVPixelBuffer) -> Void)?

    private let sessionQueue = DispatchQueue(label: "dev.mobilekit.demo.camera.session")
    private let frameQueue = DispatchQueue(label: "dev.mobilekit.demo.camera.frames", qos: .userInitiated)
    private var configured = false

    func start() {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            run()
        case .notDetermined:
            AVCaptureDevice.requestAccess(for: .video) { [weak self] granted in
                if granted { self?.run() } else { self?.publish(.denied) }
            }
        default:
            publish(.denied)
        }
    }

    func stop() {
        sessionQueue.async { [session] in
            if session.isRunning { session.stopRunning() }
        }
    }

    private func run() {
        sessionQueue.async { [weak self] in
            guard let self else { return }
            do {
                if !self.configured {
                    try self.configure()
                    self.configured = true
                }
                if !self.session.isRunning { self.session.startRunning() }
                self.publish(.running)
            } catch {
                self.publish(.failed(error.localizedDescription))
            }
        }
    }

    private func configure() throws {
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .vga640x480  // plenty for a small classifier, cheap to convert
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw DemoError.badModel("No back camera (the simulator has none: run on a device).")
        }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else { throw DemoError.badModel("Cannot use the camera input.") }
        session.addInput(input)

        let output = AVCaptureVideoDataOutput()
        output.alwaysDiscardsLateVideoFrames = true
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.setSampleBufferDelegate(self, queue: frameQueue)
        guard session.canAddOutput(output) else { throw DemoError.badModel("Cannot read camera frames.") }
        session.addOutput(output)
        // Portrait frames, so the model sees what the preview shows.
        if let connection = output.connection(with: .video), connection.isVideoRotationAngleSupported(90) {
            connection.videoRotationAngle = 90
        }
    }

    private func publish(_ state: State) {
        DispatchQueue.main.async { self.state = state }
    }
}

extension CameraController: AVCaptureVideoDataOutputSampleBufferDelegate {
    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let buffer = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        onFrame?(buffer)
    }
}
