import Combine
import CoreVideo
import Foundation
import MobileKitCore

/// The Camera screen's state, on the main actor. The classifier (a Core ML or ExecuTorch choice,
/// and for Core ML the compute units, picked by the user) lives on its own queue
/// (FrameClassifier), which is also the queue the camera delivers frames on; results come back
/// here as plain values.
@MainActor
final class CameraModel: ObservableObject {
    @Published var computeUnits: ComputeUnitsOption = .all
    /// The picked choice's id (target/variant: the same variant may exist for both runtimes).
    @Published var choiceID = ""
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

    /// (Re)loads the classifier for the current choice (and compute units, for Core ML), on the worker.
    func reload() {
        error = nil
        do {
            let bundle = try self.bundle ?? AppBundle.load(manifestPath: BundlePaths.digitsManifest)
            self.bundle = bundle
            choices = ModelChoices.appClassifiers(bundle.manifest)
            guard let choice = ModelChoices.preferred(choices, wanted: choiceID) else {
                throw DemoError.badModel(ModelChoices.noneMessage(bundle.manifest, what: "classifier"))
            }
            if choiceID != choice.id { choiceID = choice.id }
            modelSize = bundle.manifest.imageInput.map { (width: $0.width, height: $0.height) }
            status = "Loading \(choice.runtimeLabel) \(choice.variant)…"
            loaded = nil
            deviceLatency = nil
            worker.load(choice, bundle: bundle, units: computeUnits.units)
        } catch {
            show(error.localizedDescription)
        }
    }

    /// The picked choice (before it has loaded).
    var selected: ModelChoice? { choices.first { $0.id == choiceID } }

    private func apply(_ event: FrameEvent) {
        switch event {
        case .camera(let state):
            cameraState = state
        case .loaded(let choice, let loadMs):
            loaded = choice
            error = nil
            let units = choice.runtime == .coreML ? " · \(computeUnits.title)" : ""  // ExecuTorch: fixed by the export
            status = "\(choice.runtimeLabel) \(choice.variant)\(units) · loaded in \(Int(loadMs)) ms"
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
