import Foundation
import MobileKitCore
import XCTest

final class TopKStatsTests: XCTestCase {
    func testTopKKeepsLowerIndexOnTies() {
        XCTAssertEqual(TopK.indices([0.1, 0.7, 0.7, 0.2], k: 3), [1, 2, 3])
        XCTAssertEqual(TopK.argmax([1, 3, 3, -1]), 1)
        XCTAssertEqual(TopK.argmax([-.infinity, .nan, 2]), 2)
    }

    func testPredictionsUseSoftmax() {
        let p = TopK.predictions([0, Float(log(3.0))], labels: ["a", "b"], k: 1)
        XCTAssertEqual(p.first?.label, "b")
        XCTAssertEqual(p.first?.score ?? 0, 0.75, accuracy: 1e-6)
        XCTAssertEqual(TopK.predictions([5, 1], labels: [], k: 2, probabilities: false).map(\.label), ["0", "1"])
    }

    func testPercentilesInterpolateLikeNumpy() throws {
        let s = try XCTUnwrap(Stats.latency([4, 1, 3, 2, 5, 10, 7, 6, 9, 8]))
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 10)
        XCTAssertEqual(s.mean, 5.5, accuracy: 1e-12)
        XCTAssertEqual(s.std, 2.8722813232690143, accuracy: 1e-12)
        XCTAssertEqual(s.p50, 5.5, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 9.1, accuracy: 1e-12)
        XCTAssertEqual(s.p99, 9.91, accuracy: 1e-12)
        XCTAssertNil(Stats.latency([]))
    }

    func testLatencyWindowKeepsTheLatest() throws {
        var w = LatencyWindow(capacity: 3)
        for v in [100.0, 1, 2, 3] { w.add(v) }
        let s = try XCTUnwrap(w.summary)
        XCTAssertEqual(s.count, 3)
        XCTAssertEqual(s.max, 3)
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
        XCTAssertThrowsError(try NpyArray.parse(Data([1, 2, 3])))
    }
}
