import Foundation
import MobileKitCore
import XCTest

final class BenchCoreTests: XCTestCase {
    func testPercentilesInterpolateLikeNumpy() throws {
        let runs: [Double] = [4, 1, 3, 2, 5, 10, 7, 6, 9, 8]
        let s = try XCTUnwrap(Stats.latency(runs))
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 10)
        XCTAssertEqual(s.mean, 5.5, accuracy: 1e-12)
        XCTAssertEqual(s.std, 2.8722813232690143, accuracy: 1e-12)  // population std
        XCTAssertEqual(s.p50, 5.5, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 9.1, accuracy: 1e-12)
        XCTAssertEqual(s.p99, 9.91, accuracy: 1e-12)
    }

    func testNpyRoundTrip() throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        for v: Float in [1, 2, 3, 4, 5, 6] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let a = try NpyArray.parse(data)
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(try a.sample(1).floats(), [4, 5, 6])
    }
}
