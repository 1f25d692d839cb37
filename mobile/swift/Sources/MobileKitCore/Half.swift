import Foundation

/// IEEE 754 half precision ↔ Float, on raw 16-bit patterns. Core ML gives fp16 outputs (and
/// fp16 models take fp16 inputs) as MLMultiArray `.float16` storage; the app converts whole
/// buffers with these instead of reading element by element through NSNumber. Swift's Float16
/// is not available on Intel macOS, so the bits are converted here, the same on every platform.
public enum Half {
    /// One half-precision bit pattern as a Float (exact: every half is a Float).
    @inline(__always)
    public static func float(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {  // inf / NaN (keeps the NaN payload)
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }  // ±0
            // subnormal half: mantissa × 2^-24
            let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)  // 2^-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// A Float as the nearest half-precision bit pattern (round to nearest even; overflow → ±inf).
    @inline(__always)
    public static func bits(_ value: Float) -> UInt16 {
        let f = value.bitPattern
        let sign = UInt16((f >> 16) & 0x8000)
        let exponent = Int((f >> 23) & 0xFF)
        var mantissa = f & 0x007F_FFFF
        if exponent == 0xFF {  // inf / NaN
            return sign | 0x7C00 | (mantissa != 0 ? 0x0200 | UInt16(mantissa >> 13) : 0)
        }
        var e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }  // below half the smallest subnormal: ±0
            mantissa |= 0x0080_0000  // the implicit one, then shift into the subnormal range
            let shift = UInt32(14 - e)
            var half = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1) { half += 1 }  // may carry into the exponent: fine
        e = Int(half >> 10)
        if e >= 0x1F { return sign | 0x7C00 }
        return sign | UInt16(half)
    }

    /// A whole buffer of half bit patterns as Floats.
    public static func floats(_ bits: UnsafeBufferPointer<UInt16>) -> [Float] {
        [Float](unsafeUninitializedCapacity: bits.count) { out, initialized in
            for i in 0..<bits.count { out[i] = float(bits[i]) }
            initialized = bits.count
        }
    }

    /// Floats written as half bit patterns into `out` (as many as fit).
    public static func write(_ values: [Float], into out: UnsafeMutableBufferPointer<UInt16>) {
        for i in 0..<min(values.count, out.count) { out[i] = bits(values[i]) }
    }
}
