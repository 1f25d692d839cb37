import Foundation
import MobileKitCore
import XCTest

/// fp16 ↔ fp32 on bit patterns (expected patterns are numpy's float16 casts).
final class HalfTests: XCTestCase {
    func testKnownValuesBothWays() {
        let cases: [(Float, UInt16)] = [
            (1.0, 0x3C00), (-2.0, 0xC000), (65504.0, 0x7BFF), (0.5, 0x3800), (0, 0x0000),
            (Float(bitPattern: 0x3380_0000), 0x0001),  // 2^-24, the smallest subnormal
        ]
        for (value, bits) in cases {
            XCTAssertEqual(Half.bits(value), bits, "\(value)")
            XCTAssertEqual(Half.float(bits), value, "\(bits)")
        }
        XCTAssertEqual(Half.bits(-0.0), 0x8000)
    }

    func testRoundingToNearestEven() {
        XCTAssertEqual(Half.bits(1.0 / 3.0), 0x3555)
        XCTAssertEqual(Half.bits(0.1), 0x2E66)
        XCTAssertEqual(Half.bits(1 + 1.0 / 2048), 0x3C00)  // halfway: to the even neighbour
        XCTAssertEqual(Half.bits(1 + 3.0 / 2048), 0x3C02)
        XCTAssertEqual(Half.bits(65520), 0x7C00)  // rounds up out of range: inf
        XCTAssertEqual(Half.bits(1e-8), 0x0000)
        XCTAssertEqual(Half.float(0x3555), 0.333251953125)
        XCTAssertEqual(Half.float(0x03FF), 6.097555160522461e-05)
    }

    func testSpecials() {
        XCTAssertEqual(Half.bits(.infinity), 0x7C00)
        XCTAssertEqual(Half.bits(-.infinity), 0xFC00)
        XCTAssertTrue(Half.float(Half.bits(.nan)).isNaN)
        XCTAssertEqual(Half.float(0x7C00), .infinity)
    }

    func testEveryHalfRoundTrips() {
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let value = Half.float(bits)
            if value.isNaN { continue }
            XCTAssertEqual(Half.bits(value), bits, "0x\(String(raw, radix: 16))")
        }
    }

    func testBufferConversion() {
        let values: [Float] = [1, -2, 0.5, 65504]
        var bits = [UInt16](repeating: 0, count: 4)
        bits.withUnsafeMutableBufferPointer { Half.write(values, into: $0) }
        XCTAssertEqual(bits, [0x3C00, 0xC000, 0x3800, 0x7BFF])
        XCTAssertEqual(bits.withUnsafeBufferPointer { Half.floats($0) }, values)
    }
}
