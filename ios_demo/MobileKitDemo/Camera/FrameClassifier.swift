import CoreML
import CoreVideo
import Foundation
import MobileKitCore

/// What the frame queue reports to the screen (plain values: they cross to the main actor).
enum FrameEvent: Sendable {
    case camera(CameraState)
    case loaded(choice: ModelChoice, loadMs: Double)
    case loadFailed(String)
    case frameSize(width: Int, height: Int)
    case result(top: [Prediction], ms: Double, window: Latency?)
    case frameFailed(String)
}

/// The classifier's one thread: the camera delivers frames on `queue`, and the model (Core ML
/// or ExecuTorch) is created, swapped and run there and nowhere else (neither runtime's objects
/// cross threads).
/// A failing frame is reported and the next frame tries again; a failing load leaves no model.
///
/// `@unchecked Sendable`: `classifier`, `window`, `generation` and `lastSize` are only touched on
/// `queue` (checked with dispatchPrecondition); `report` is immutable and Sendable.
final class FrameClassifier: @unchecked Sendable {
    let queue = DispatchQueue(label: "dev.mobilekit.demo.classifier", qos: .userInitiated)
    private let report: @Sendable (FrameEvent) -> Void
    private var classifier: (any FrameModel)?
    private var window = LatencyWindow(capacity: 60)
    private var generation = 0
    private var lastSize: (Int, Int)?

    init(report: @escaping @Sendable (FrameEvent) -> Void) {
        self.report = report
    }

    /// Loads `choice` on this queue with its runtime. Core ML: compiled first, off this queue
    /// (the compile is async and touches no model), then the model is made here. ExecuTorch: the
    /// `.pte` is opened and its method loaded here (frames are dropped meanwhile). A newer load
    /// wins over an older one still compiling.
    func load(_ choice: ModelChoice, bundle: AppBundle, units: MLComputeUnits) {
        queue.async { [self] in
            generation += 1
            let mine = generation
            classifier = nil  // frames wait for the new model rather than run the old one
            guard let artifact = choice.artifacts.first, let runtime = choice.runtime else {
                report(.loadFailed(ModelChoices.noneMessage(bundle.manifest, what: "classifier")))
                return
            }
            let started = Date()
            guard runtime == .coreML else {
                do {
                    install(try ExecuTorchClassifier(url: bundle.url(artifact.path), manifest: bundle.manifest, artifact: artifact,
                                                     labels: bundle.labels()), choice: choice, started: started)
                } catch {
                    report(.loadFailed(error.localizedDescription))
                }
                return
            }
            Task.detached { [self] in
                do {
                    let compiled = try await ModelCompiler.compiledURL(artifact, in: bundle)
                    queue.async { [self] in
                        guard mine == generation else { return }
                        do {
                            let model = try ModelCompiler.model(at: compiled, units: units)
                            install(try Classifier(model: model, manifest: bundle.manifest, artifact: artifact, labels: bundle.labels()),
                                    choice: choice, started: started)
                        } catch {
                            report(.loadFailed(error.localizedDescription))
                        }
                    }
                } catch {
                    queue.async { [self] in
                        if mine == generation { report(.loadFailed(error.localizedDescription)) }
                    }
                }
            }
        }
    }

    private func install(_ model: any FrameModel, choice: ModelChoice, started: Date) {
        dispatchPrecondition(condition: .onQueue(queue))
        classifier = model
        window = LatencyWindow(capacity: 60)
        report(.loaded(choice: choice, loadMs: Date().timeIntervalSince(started) * 1000))
    }

    /// Called by the camera on `queue` for every frame it does not drop.
    func handle(_ frame: CVPixelBuffer) {
        dispatchPrecondition(condition: .onQueue(queue))
        let size = (CVPixelBufferGetWidth(frame), CVPixelBufferGetHeight(frame))
        if lastSize == nil || lastSize! != size {
            lastSize = size
            report(.frameSize(width: size.0, height: size.1))
        }
        guard let classifier else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let top = try classifier.classify(frame, k: 3)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            window.add(ms)
            report(.result(top: top, ms: ms, window: window.summary))
        } catch {
            report(.frameFailed(error.localizedDescription))
        }
    }
}
