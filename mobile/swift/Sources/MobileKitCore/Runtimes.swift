import Foundation

/// What runs an artifact in the iOS app: Core ML itself, or an ExecuTorch program whose
/// delegated part runs on XNNPACK (CPU) or on the Core ML delegate. Both ExecuTorch backends are
/// linked into the app (the Swift package's backend_xnnpack and backend_coreml).
public enum AppRuntime: String, CaseIterable, Equatable, Sendable {
    case coreML
    case executorchXNNPACK
    case executorchCoreML

    /// The runtime as the pickers name it.
    public var label: String {
        switch self {
        case .coreML: return "Core ML"
        case .executorchXNNPACK: return "ExecuTorch XNNPACK"
        case .executorchCoreML: return "ExecuTorch Core ML delegate"
        }
    }
}

/// Which artifacts of a bundle the iOS app runs, and with what. The targets are those
/// `mobilekit scaffold ios` copies (mobilekit/scaffold.py PLATFORMS["ios"]); their usable
/// artifacts all run here, the Core ML delegate `.pte` included (unlike Android), except a
/// program of an ExecuTorch backend the app does not link (the export writes none such today).
public enum Runtimes {
    /// The targets the app runs, in its order of preference (tests/demo_apps checks it equals scaffold's).
    public static let appTargets = ["coreml", "executorch"]

    /// The ExecuTorch backends linked into the app, by the name the export writes (`details.backend`).
    static let executorchBackends: [String: AppRuntime] = ["XnnpackBackend": .executorchXNNPACK, "CoreMLBackend": .executorchCoreML]

    /// The runtime of `artifact`, or nil when the app cannot run it (another target, or an
    /// ExecuTorch backend the app does not link). A program without `details.backend` (older
    /// bundles) is told by its variant, as the harness does: `coreml*` is the Core ML delegate.
    public static func runtime(of artifact: Artifact) -> AppRuntime? {
        switch artifact.target {
        case "coreml":
            return .coreML
        case "executorch":
            if let backend = artifact.backend { return executorchBackends[backend] }
            return artifact.variant.hasPrefix("coreml") ? .executorchCoreML : .executorchXNNPACK
        default:
            return nil
        }
    }
}
