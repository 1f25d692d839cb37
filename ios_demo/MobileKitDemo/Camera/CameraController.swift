import AVFoundation
import CoreVideo
import Foundation

enum CameraState: Equatable, Sendable {
    case idle
    case running(front: Bool)
    case denied
    case failed(String)
}

/// The camera as a stream of BGRA frames. All session work runs on `sessionQueue`; frames
/// arrive on the `frameQueue` the caller gives (the classifier's own queue), and the output
/// drops frames that arrive while the previous one is still being handled (keep-latest).
/// The back camera is used, the front one where there is none (an iPad mounted in a stand,
/// some iPod-class devices), and a clear message where there is neither (the simulator).
///
/// `@unchecked Sendable`: `session`, `output`, `configured` and `wanted` are only touched on
/// `sessionQueue` (AVCaptureSession is not Sendable; Apple documents configuring and starting it
/// on a serial background queue); the two handlers are immutable and themselves Sendable.
final class CameraController: NSObject, @unchecked Sendable {
    let session = AVCaptureSession()
    private let sessionQueue = DispatchQueue(label: "dev.mobilekit.demo.camera.session")
    private let frameQueue: DispatchQueue
    private let onState: @Sendable (CameraState) -> Void
    private let onFrame: @Sendable (CVPixelBuffer) -> Void
    private var output: AVCaptureVideoDataOutput?
    private var configured: Bool?  // nil until configured; true for the front camera
    private var wanted = false  // the screen is showing: false after stop(), so a late start does nothing
    private var restarts = 0  // after runtime errors, since the last successful start
    private var runtimeErrorObserver: NSObjectProtocol?

    init(frameQueue: DispatchQueue, onState: @escaping @Sendable (CameraState) -> Void,
         onFrame: @escaping @Sendable (CVPixelBuffer) -> Void) {
        self.frameQueue = frameQueue
        self.onState = onState
        self.onFrame = onFrame
        super.init()
    }

    deinit {
        if let runtimeErrorObserver { NotificationCenter.default.removeObserver(runtimeErrorObserver) }
    }

    /// Asks for camera access if needed, then configures and starts the session.
    func start() {
        sessionQueue.async { [self] in wanted = true }
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            run()
        case .notDetermined:
            AVCaptureDevice.requestAccess(for: .video) { [weak self] granted in
                guard let self else { return }
                if granted { self.run() } else { self.onState(.denied) }
            }
        default:
            onState(.denied)
        }
    }

    /// Stops the session; a start still waiting for the permission prompt will not run.
    func stop() {
        sessionQueue.async { [self] in
            wanted = false
            restarts = 0
            if session.isRunning { session.stopRunning() }
            onState(.idle)
        }
    }

    /// The rotation to apply to frames so they are upright (from the device's rotation coordinator).
    func setRotation(_ angle: CGFloat) {
        sessionQueue.async { [self] in
            guard let connection = output?.connection(with: .video), connection.isVideoRotationAngleSupported(angle) else { return }
            connection.videoRotationAngle = angle
        }
    }

    /// The camera in use, once configured (for the preview's rotation coordinator).
    func currentDevice() -> AVCaptureDevice? {
        sessionQueue.sync { (session.inputs.first as? AVCaptureDeviceInput)?.device }
    }

    private func run() {
        sessionQueue.async { [self] in
            guard wanted else { return }
            do {
                if configured == nil {
                    configured = try configure()
                    observeRuntimeErrors()
                }
                if !session.isRunning { session.startRunning() }
                if session.isRunning {
                    onState(.running(front: configured ?? false))
                } else {
                    onState(.failed("The camera did not start: leave the tab and come back to try again."))
                }
            } catch {
                onState(.failed(error.localizedDescription))
            }
        }
    }

    /// A runtime error (media services reset, camera taken by another app) stops the session:
    /// say so, and start again while the screen still wants frames (three times at most, so a
    /// camera that keeps failing ends in a message rather than a loop).
    private func observeRuntimeErrors() {
        runtimeErrorObserver = NotificationCenter.default.addObserver(
            forName: AVCaptureSession.runtimeErrorNotification, object: session, queue: nil
        ) { [weak self] note in
            let error = (note.userInfo?[AVCaptureSessionErrorKey] as? NSError)?.localizedDescription ?? "unknown error"
            guard let self else { return }
            self.sessionQueue.async { [self] in
                guard restarts < 3 else {
                    onState(.failed("The camera stopped (\(error)). Leave the tab and come back to try again."))
                    return
                }
                restarts += 1
                onState(.failed("The camera stopped (\(error)); restarting…"))
                run()
            }
        }
    }

    /// Returns whether the front camera is in use.
    private func configure() throws -> Bool {
        let back = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back)
        let front = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .front)
        guard let device = back ?? front else {
            throw DemoError.badModel("This device has no camera (the simulator has none: run on a device).")
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        if session.canSetSessionPreset(.vga640x480) {
            session.sessionPreset = .vga640x480  // plenty for a small classifier, cheap to convert
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
        // Portrait until the rotation coordinator says otherwise, so the model sees what the preview shows.
        if let connection = output.connection(with: .video), connection.isVideoRotationAngleSupported(90) {
            connection.videoRotationAngle = 90
        }
        self.output = output
        return back == nil
    }
}

extension CameraController: AVCaptureVideoDataOutputSampleBufferDelegate {
    /// On `frameQueue`: the frame is handled synchronously, so late frames are dropped meanwhile.
    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let buffer = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        onFrame(buffer)
    }
}
