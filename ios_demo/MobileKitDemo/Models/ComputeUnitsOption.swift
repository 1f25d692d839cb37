import CoreML

/// The Core ML compute units a user can pick.
enum ComputeUnitsOption: String, CaseIterable, Identifiable, Sendable {
    case all
    case cpuAndGPU
    case cpuAndNeuralEngine
    case cpuOnly

    var id: String { rawValue }

    var title: String {
        switch self {
        case .all: return "All"
        case .cpuAndGPU: return "CPU+GPU"
        case .cpuAndNeuralEngine: return "CPU+ANE"
        case .cpuOnly: return "CPU"
        }
    }

    var units: MLComputeUnits {
        switch self {
        case .all: return .all
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
        case .cpuOnly: return .cpuOnly
        }
    }
}
