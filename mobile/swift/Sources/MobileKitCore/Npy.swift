import Foundation

public enum NpyError: Error, CustomStringConvertible, Sendable {
    case notNpy
    case unsupported(String)
    case outOfRange(Int)

    public var description: String {
        switch self {
        case .notNpy: return "not a .npy file"
        case .unsupported(let what): return "unsupported .npy file: \(what)"
        case .outOfRange(let i): return "index \(i) is out of range"
        }
    }
}

/// A NumPy array read from a `.npy` file (C order, little-endian): the bundles' golden vectors.
public struct NpyArray: Sendable {
    public let shape: [Int]
    public let dtype: String  // "f4", "f8", "i8", "i4", "u1", "i1"
    public let data: Data

    public var count: Int { shape.reduce(1, *) }
    var itemSize: Int { Int(dtype.dropFirst()) ?? 1 }

    public init(shape: [Int], dtype: String, data: Data) {
        self.shape = shape
        self.dtype = dtype
        self.data = data
    }

    public static func load(_ url: URL) throws -> NpyArray {
        try parse(Data(contentsOf: url))
    }

    public static func parse(_ bytes: Data) throws -> NpyArray {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        let b = [UInt8](bytes)
        guard b.count > 10, Array(b.prefix(6)) == magic else { throw NpyError.notNpy }
        let headerLen: Int
        let headerStart: Int
        if b[6] == 1 {
            headerLen = Int(b[8]) | Int(b[9]) << 8
            headerStart = 10
        } else {
            guard b.count > 12 else { throw NpyError.notNpy }
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            headerStart = 12
        }
        guard headerStart + headerLen <= b.count,
              let header = String(bytes: b[headerStart..<(headerStart + headerLen)], encoding: .isoLatin1) else {
            throw NpyError.notNpy
        }
        guard let descr = match(header, #"'descr'\s*:\s*'([^']+)'"#) else { throw NpyError.unsupported("no descr") }
        if match(header, #"'fortran_order'\s*:\s*(True)"#) != nil { throw NpyError.unsupported("Fortran order") }
        if descr.hasPrefix(">") { throw NpyError.unsupported("big-endian data") }
        guard let shapeText = match(header, #"'shape'\s*:\s*\(([^)]*)\)"#) else { throw NpyError.unsupported("no shape") }
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let kind = "<|=".contains(descr.first!) ? String(descr.dropFirst()) : descr
        guard ["f4", "f8", "i8", "i4", "u1", "i1"].contains(kind) else { throw NpyError.unsupported("dtype \(descr)") }
        let array = NpyArray(shape: shape, dtype: kind, data: bytes.subdata(in: (headerStart + headerLen)..<bytes.count))
        guard array.data.count >= array.count * array.itemSize else { throw NpyError.unsupported("truncated data") }
        return array
    }

    /// The values as Float, whatever the stored type.
    public func floats() -> [Float] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            (0..<count).map { i -> Float in
                switch dtype {
                case "f4": return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                case "f8": return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                case "i8": return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                case "i4": return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                case "u1": return Float(raw[i])
                default: return Float(Int8(bitPattern: raw[i]))
                }
            }
        }
    }

    /// The values as bytes (uint8 pixels).
    public func bytes() -> [UInt8] {
        dtype == "u1" ? [UInt8](data) : floats().map { UInt8(clamping: Int($0.rounded())) }
    }

    /// Item `index` along the first axis, keeping that axis with size 1 (a batch of one).
    public func sample(_ index: Int) throws -> NpyArray {
        guard let first = shape.first, index >= 0, index < first else { throw NpyError.outOfRange(index) }
        let per = count / first * itemSize
        var sliced = shape
        sliced[0] = 1
        return NpyArray(shape: sliced, dtype: dtype, data: data.subdata(in: (index * per)..<((index + 1) * per)))
    }

    /// Row `index` of a 2-D (or flattened trailing) array, as Float.
    public func row(_ index: Int) throws -> [Float] {
        try sample(index).floats()
    }

    private static func match(_ text: String, _ pattern: String) -> String? {
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }
}
