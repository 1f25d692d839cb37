import Combine
import CoreVideo
import Foundation
import MobileKitCore

/// The Camera screen's state, on the main actor. The classifier (variant and compute units
/// chosen by the user) lives on its own queue (FrameClassifier), which is also the queue the
/// camera delivers frames on; results come back here as plain values.
@MainActor
final class CameraModel: ObservableObject {
    @Published var computeUnits: ComputeUnitsOption = .all
    @Published var variant = ""
    @Published private(set) var choices: [ModelChoice] = []
    @Published private(set) var loaded: ModelChoice?
    @Published private(set) var predictions: [Prediction] = []
    @Published private(set) var lastMs: Double?
    @Published private(set) var deviceLatency: Latency?
    @Published private(set) var status = "Loading the model…"
    @Published private(set) var error: String?
    @Published private(set) var cameraState: CameraState = .idle
    /// The camera frame's size (after rotation) and the model input's: what the guide box needs.
    @Published private(set) var frameSize: (width: Int, height: Int)?
    @Published private(set) var modelSize: (width: Int, height: Int)?

    let worker: FrameClassifier
    let camera: CameraController
    private var bundle: AppBundle?
    /// Worker and camera events, consumed in order on the main actor (finished in deinit).
    private let events: AsyncStream<FrameEvent>.Continuation

    init() {
        let (stream, events) = AsyncStream.makeStream(of: FrameEvent.self)
        self.events = events
        let worker = FrameClassifier { event in events.yield(event) }
        self.worker = worker
        camera = CameraController(
            frameQueue: worker.queue,
            onState: { state in events.yield(.camera(state)) },
            onFrame: { frame in worker.handle(frame) }
        )
        Task { [weak self] in
            for await event in stream {
                guard let self else { return }
                self.apply(event)
            }
        }
    }

    deinit {
        events.finish()
    }

    func appear() {
        if loaded == nil { reload() }
        camera.start()
    }

    func disappear() {
        camera.stop()
    }

    /// (Re)loads the classifier for the current variant and compute units, on the worker.
    func reload() {
        error = nil
        do {
            let bundle = try self.bundle ?? AppBundle.load(manifestPath: BundlePaths.digitsManifest)
            self.bundle = bundle
            choices = ModelChoices.classifiers(bundle.manifest, target: "coreml")
            guard let choice = ModelChoices.preferred(choices, wanted: variant) else {
                throw DemoError.noArtifact("classifier")
            }
            if variant != choice.variant { variant = choice.variant }
            modelSize = bundle.manifest.imageInput.map { (width: $0.width, height: $0.height) }
            status = "Loading \(choice.variant)…"
            loaded = nil
            deviceLatency = nil
            worker.load(choice, bundle: bundle, units: computeUnits.units)
        } catch {
            show(error.localizedDescription)
        }
    }

    private func apply(_ event: FrameEvent) {
        switch event {
        case .camera(let state):
            cameraState = state
        case .loaded(let choice, let loadMs):
            loaded = choice
            error = nil
            status = "\(choice.variant) · \(computeUnits.title) · loaded in \(Int(loadMs)) ms"
        case .loadFailed(let message):
            loaded = nil
            show(message)
        case .frameSize(let width, let height):
            frameSize = (width: width, height: height)
        case .result(let top, let ms, let window):
            predictions = top
            lastMs = ms
            deviceLatency = window
            error = nil
        case .frameFailed(let message):
            show("This frame failed: \(message)")  // the next frame tries again
        }
    }

    private func show(_ message: String) {
        error = message
        status = message
    }
}
