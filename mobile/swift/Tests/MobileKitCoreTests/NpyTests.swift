import Foundation
import MobileKitCore
import XCTest

/// The one .npy reader (the app's and the harness's): its bounds checks refuse short files
/// instead of reading past the data.
final class NpyTests: XCTestCase {
    /// A version 1.0 .npy file: magic, header length, the header dict padded to 64 bytes, then `body`.
    static func npy(descr: String, shape: String, body: [UInt8]) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let len = header.utf8.count
        return Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(len & 0xFF), UInt8(len >> 8)]) + Data(header.utf8) + Data(body)
    }

    func testReadsAWholeArray() throws {
        let a = try NpyArray.parse(Self.npy(descr: "<i4", shape: "(2, 2)", body: [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]))
        XCTAssertEqual(a.shape, [2, 2])
        XCTAssertEqual(a.floats(), [1, 2, 3, 4])
        XCTAssertEqual(try a.row(1), [3, 4])
    }

    func testRefusesTruncatedData() {
        // shape (2, 2) of int32 needs 16 bytes; 12 are there
        XCTAssertThrowsError(try NpyArray.parse(Self.npy(descr: "<i4", shape: "(2, 2)", body: [UInt8](repeating: 0, count: 12)))) { error in
            XCTAssertEqual("\(error)", "unsupported .npy file: truncated data")
        }
    }

    func testRefusesAHeaderLongerThanTheFile() {
        var data = Self.npy(descr: "<u1", shape: "(1,)", body: [7])
        data[8] = 0xFF
        data[9] = 0x7F  // header length 32767: past the end
        XCTAssertThrowsError(try NpyArray.parse(data)) { error in
            XCTAssertEqual("\(error)", "not a .npy file")
        }
    }

    func testSampleIndexOutOfRange() throws {
        let a = try NpyArray.parse(Self.npy(descr: "|u1", shape: "(2, 3)", body: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(try a.sample(1).bytes(), [4, 5, 6])
        XCTAssertThrowsError(try a.sample(2))
        XCTAssertThrowsError(try a.sample(-1))
    }
}
