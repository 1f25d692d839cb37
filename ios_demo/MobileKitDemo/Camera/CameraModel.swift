import Combine
import CoreVideo
import Foundation
import MobileKitCore

/// The Camera screen's state: loads the digits bundle's Core ML classifier (variant and compute
/// units chosen by the user) and classifies camera frames on the frame queue.
final class CameraModel: ObservableObject {
    @Published var computeUnits: ComputeUnitsOption = .all
    @Published var variant = ""
    @Published private(set) var variants: [String] = []
    @Published private(set) var predictions: [Prediction] = []
    @Published private(set) var lastMs: Double?
    @Published private(set) var p50Ms: Double?
    @Published private(set) var status = "Loading the model…"
    @Published private(set) var cameraState: CameraController.State = .idle

    let camera = CameraController()
    private let lock = NSLock()
    // Guarded by lock: swapped on the main queue, used on the frame queue.
    private var classifier: Classifier?
    private var window = LatencyWindow(capacity: 30)
    private var loadGeneration = 0

    init() {
        camera.onFrame = { [weak self] frame in self?.handle(frame) }
        camera.$state.assign(to: &$cameraState)
    }

    func appear() {
        reload()
        camera.start()
    }

    func disappear() {
        camera.stop()
    }

    /// (Re)loads the classifier for the current variant and compute units.
    func reload() {
        loadGeneration += 1
        let generation = loadGeneration
        let units = computeUnits
        let wanted = variant
        status = "Loading the model…"
        Task { @MainActor in
            do {
                let bundle = try AppBundle.load(manifestPath: BundlePaths.digitsManifest)
                let artifacts = bundle.coreMLArtifacts()
                guard let artifact = artifacts.first(where: { $0.variant == wanted }) ?? artifacts.first else {
                    throw DemoError.noArtifact("classifier")
                }
                let started = Date()
                let model = try await ModelCompiler.load(artifact, in: bundle, units: units.units)
                let classifier = try Classifier(model: model, manifest: bundle.manifest, artifact: artifact, labels: bundle.labels())
                guard generation == self.loadGeneration else { return }  // a newer choice is loading
                self.setClassifier(classifier)
                self.variants = artifacts.map(\.variant)
                if self.variant != artifact.variant { self.variant = artifact.variant }
                let loadMs = Date().timeIntervalSince(started) * 1000
                self.status = "\(bundle.manifest.name) \(artifact.variant) · \(units.title) · loaded in \(Int(loadMs)) ms"
            } catch {
                guard generation == self.loadGeneration else { return }
                self.setClassifier(nil)
                self.status = error.localizedDescription
            }
        }
    }

    private func setClassifier(_ classifier: Classifier?) {
        lock.lock()
        self.classifier = classifier
        window = LatencyWindow(capacity: 30)
        lock.unlock()
    }

    /// On the frame queue: late frames are dropped by the camera while this runs.
    private func handle(_ frame: CVPixelBuffer) {
        lock.lock()
        let current = classifier
        lock.unlock()
        guard let classifier = current else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let top: [Prediction]
        do {
            top = try classifier.classify(frame, k: 3)
        } catch {
            let message = error.localizedDescription
            DispatchQueue.main.async { self.status = message }
            return
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        lock.lock()
        window.add(ms)
        let p50 = window.summary?.p50
        lock.unlock()
        DispatchQueue.main.async {
            self.predictions = top
            self.lastMs = ms
            self.p50Ms = p50
        }
    }
}
