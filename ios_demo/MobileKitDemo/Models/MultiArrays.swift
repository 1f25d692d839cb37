import CoreML
import Foundation

/// MLMultiArray in and out, for the models that take or give plain tensors.
enum MultiArrays {
    static func dataType(_ dtype: String?) -> MLMultiArrayDataType {
        switch dtype ?? "float32" {
        case "float16": return .float16
        case "float64": return .double
        case let d where d.hasPrefix("int") || d.hasPrefix("uint") || d == "bool": return .int32
        default: return .float32
        }
    }

    /// A zero-filled array (MLMultiArray does not promise zeroed memory).
    static func zeros(shape: [Int], dtype: String?) throws -> MLMultiArray {
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: max($0, 1)) }, dataType: dataType(dtype))
        array.withUnsafeMutableBytes { raw, _ in
            _ = raw.initializeMemory(as: UInt8.self, repeating: 0)
        }
        return array
    }

    /// Integer values into an array of `shape` (int32, as Core ML stores integer inputs).
    static func ints(_ values: [Int], shape: [Int], dtype: String?) throws -> MLMultiArray {
        let array = try zeros(shape: shape, dtype: dtype)
        for (i, v) in values.prefix(array.count).enumerated() {
            array[i] = NSNumber(value: v)
        }
        return array
    }

    static func floats(_ values: [Float], shape: [Int]) throws -> MLMultiArray {
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: .float32)
        precondition(array.count == values.count, "expected \(array.count) values")
        array.withUnsafeMutableBufferPointer(ofType: Float.self) { buffer, _ in
            for (i, v) in values.enumerated() { buffer[i] = v }
        }
        return array
    }

    /// All values as Float in logical (row-major) order, whatever the strides and data type.
    static func floats(_ array: MLMultiArray) -> [Float] {
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
            default:
                break  // float16 and others: read through NSNumber below
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
