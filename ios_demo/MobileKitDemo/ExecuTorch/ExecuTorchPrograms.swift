import ExecuTorch
import Foundation
import MobileKitCore

/// An ExecuTorch program the app cannot feed or read.
enum ExecuTorchAppError: LocalizedError, Sendable {
    case dtype(String)
    case outputs(String)

    var errorDescription: String? {
        switch self {
        case .dtype(let what): return "unsupported ExecuTorch tensor dtype \(what)"
        case .outputs(let what): return what
        }
    }
}

/// The app's calls into the ExecuTorch Swift package (github.com/pytorch/executorch, branch
/// swiftpm-1.0.1, as the iOS harness pins): the same API shapes as the harness's
/// ExecuTorchBenchmarkTests, plus `Tensor.withUnsafeMutableBytes` for the camera's reused input.
/// What each value is and in which order comes from the core (ProgramIO); only tensors are made here.
enum ExecuTorchPrograms {
    /// The method every mobilekit `.pte` has.
    static let method = "forward"

    /// Opens a `.pte` of the app bundle (memory-mapped: bundle files are read-only, nothing is
    /// copied) and loads its method, which initializes the delegate (XNNPACK or Core ML).
    /// Called on the model's worker only: the module is used on that thread and nowhere else.
    static func load(_ url: URL) throws -> Module {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DemoError.badModel("\(url.lastPathComponent) is missing from the app: scaffold the bundle again.")
        }
        let module = Module(filePath: url.path, loadMode: .mmap)
        try module.load(method)
        return module
    }

    /// Positional forward call.
    static func forward(_ module: Module, _ inputs: [Value]) throws -> [Value] {
        let outputs: [Value] = try module.forward(inputs)
        return outputs
    }

    /// Integer ids in the manifest's dtype.
    static func ints(_ ids: [Int], dtype: ProgramDType, shape: [Int]) -> Value {
        switch dtype {
        case .int32: return Value(Tensor<Int32>(ids.map { Int32($0) }, shape: shape))
        case .int64: return Value(Tensor<Int64>(ids.map { Int64($0) }, shape: shape))
        case .float32: return Value(Tensor<Float>(ids.map { Float($0) }, shape: shape))
        }
    }

    /// A zero tensor (a cache's first state).
    static func zeros(shape: [Int], dtype: ProgramDType) -> Value {
        ints([Int](repeating: 0, count: elementCount(ofShape: shape)), dtype: dtype, shape: shape)
    }

    /// A tensor output's values as floats.
    static func floats(_ value: Value) throws -> [Float] {
        guard let tensor = value.anyTensor else { throw ExecuTorchAppError.outputs("an output is not a tensor") }
        switch tensor.dataType {
        case .float: return Tensor<Float>(tensor).withUnsafeBytes { Array($0) }
        case .int: return Tensor<Int32>(tensor).withUnsafeBytes { $0.map { Float($0) } }
        case .long: return Tensor<Int64>(tensor).withUnsafeBytes { $0.map { Float($0) } }
        default: throw ExecuTorchAppError.dtype("\(tensor.dataType)")
        }
    }

    /// A copy of an output the caller keeps: a returned tensor is a view of the program's output
    /// buffer, which the next call overwrites.
    static func copy(_ value: Value) throws -> Value {
        guard let tensor = value.anyTensor else { throw ExecuTorchAppError.outputs("an output is not a tensor") }
        return Value(tensor.copy())
    }
}
