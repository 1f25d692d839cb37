#if canImport(CoreML)
import CoreML
import Foundation
import MobileKitCore

/// MLMultiArray in and out, for the models that take or give plain tensors (the demo app and
/// the iOS harness share it, so both feed and read Core ML models the same way).
public enum MultiArrays {
    /// Integer values into an array of `shape` and the data type the model declares.
    public static func ints(_ values: [Int], shape: [Int], type: MLMultiArrayDataType) throws -> MLMultiArray {
        try make(values.map { Float($0) }, shape: shape, type: type)
    }

    public static func floats(_ values: [Float], shape: [Int]) throws -> MLMultiArray {
        try make(values, shape: shape, type: .float32)
    }

    /// `values` (row-major; missing ones zero) as a fresh contiguous array of `type`, written in
    /// one pass over the storage: fp16 as converted bit patterns, never through NSNumber.
    public static func make(_ values: [Float], shape: [Int], type: MLMultiArrayDataType) throws -> MLMultiArray {
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: max($0, 1)) }, dataType: type)
        let n = min(values.count, array.count)
        array.withUnsafeMutableBytes { raw, _ in
            _ = raw.initializeMemory(as: UInt8.self, repeating: 0)
            switch type {
            case .float16:
                for i in 0..<n { raw.storeBytes(of: Half.bits(values[i]), toByteOffset: i * 2, as: UInt16.self) }
            case .double:
                for i in 0..<n { raw.storeBytes(of: Double(values[i]), toByteOffset: i * 8, as: Double.self) }
            case .int32:
                for i in 0..<n { raw.storeBytes(of: Int32(values[i]), toByteOffset: i * 4, as: Int32.self) }
            default:
                for i in 0..<n { raw.storeBytes(of: values[i], toByteOffset: i * 4, as: Float.self) }
            }
        }
        return array
    }

    /// `array` in the data type an input declares: itself when it already is (Core ML may give
    /// fp16 outputs to an fp32 input otherwise, relying on a silent conversion), else a converted copy.
    public static func matching(_ array: MLMultiArray, type: MLMultiArrayDataType) throws -> MLMultiArray {
        if array.dataType == type { return array }
        return try make(floats(array), shape: array.shape.map { $0.intValue }, type: type)
    }

    /// The data type a model declares for an input (fp32 when it does not say).
    public static func declaredType(_ model: MLModel, input name: String) -> MLMultiArrayDataType {
        model.modelDescription.inputDescriptionsByName[name]?.multiArrayConstraint?.dataType ?? .float32
    }

    /// All values as Float in logical (row-major) order, whatever the strides and data type.
    public static func floats(_ array: MLMultiArray) -> [Float] {
        let shape = array.shape.map { $0.intValue }
        let strides = array.strides.map { $0.intValue }
        var expected = 1
        var contiguous = true
        for (dim, stride) in zip(shape, strides).reversed() {
            if dim > 1 && stride != expected { contiguous = false }
            expected *= dim
        }
        let n = array.count
        if contiguous {
            switch array.dataType {
            case .float32:
                return array.withUnsafeBufferPointer(ofType: Float.self) { Array($0.prefix(n)) }
            case .double:
                return array.withUnsafeBufferPointer(ofType: Double.self) { $0.prefix(n).map { Float($0) } }
            case .int32:
                return array.withUnsafeBufferPointer(ofType: Int32.self) { $0.prefix(n).map { Float($0) } }
            case .float16:
                // In bulk from the raw bits (Swift.Float16 is unavailable on Intel Macs, where the harness also runs).
                return array.withUnsafeBytes { raw in
                    [Float](unsafeUninitializedCapacity: n) { out, initialized in
                        for i in 0..<n { out[i] = Half.float(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
                        initialized = n
                    }
                }
            default:
                break  // other types, or non-contiguous storage: element by element below
            }
        }
        var out = [Float](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<n {
            out[i] = array[index.map { NSNumber(value: $0) }].floatValue
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }
}
#endif
