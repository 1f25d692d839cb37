import Foundation
import MobileKitCore
import XCTest

/// The device-side verification rule against mobilekit/verify/verdict.py itself
/// (Fixtures/verdict_golden.json): the same figures, the same pass/fail per precision class.
final class VerdictTests: XCTestCase {
    func rows(_ value: JSONValue?) throws -> [[Double]] {
        try XCTUnwrap(value?.array).map { (row: JSONValue) throws -> [Double] in
            try XCTUnwrap(row.array).map { (v: JSONValue) throws -> Double in
                let d = try XCTUnwrap(v.double)
                return d
            }
        }
    }

    func close(_ a: Double, _ b: Double?, _ what: String) {
        guard let b else { return XCTFail("\(what): no expected value") }
        XCTAssertEqual(a, b, accuracy: max(abs(b), 1) * 1e-9, what)
    }

    func testTheRuleMatchesPython() throws {
        let doc = try Fixtures.json("verdict_golden.json")
        XCTAssertEqual(doc["rule"]?.string, Verdict.ruleName)
        for (cls, rule) in try XCTUnwrap(doc["rules"]?.object) {
            let mine = try XCTUnwrap(Verdict.rules[cls], cls)
            XCTAssertEqual(mine.minSnrDb, rule["min_snr_db"]?.double, cls)
            XCTAssertEqual(mine.minCosine, rule["min_cosine"]?.double, cls)
            XCTAssertEqual(mine.minTop1Agreement, rule["min_top1_agreement"]?.double, cls)
            XCTAssertEqual(mine.tieMargin, rule["tie_margin"]?.double ?? 0, cls)
        }
        let cases = try XCTUnwrap(doc["cases"]?.array)
        XCTAssertEqual(cases.count, 8)
        for c in cases {
            let name = try XCTUnwrap(c["name"]?.string)
            let reference = try rows(c["reference"])
            var got = try rows(c["got"])
            if let at = c["nan_at"]?.array?.compactMap(\.int), at.count == 2 { got[at[0]][at[1]] = .nan }
            let figures = Verdict.figures(reference: reference, got: got)
            let expected = try XCTUnwrap(c["figures"])
            XCTAssertEqual(figures.finite, expected["finite"]?.bool, name)
            if figures.finite {
                close(figures.maxAbs, expected["max_abs"]?.double, "\(name) max_abs")
                close(figures.meanAbs, expected["mean_abs"]?.double, "\(name) mean_abs")
                close(figures.relMaxAbs, expected["rel_max_abs"]?.double, "\(name) rel_max_abs")
                close(figures.cosine, expected["cosine"]?.double, "\(name) cosine")
                close(figures.snrDb, expected["snr_db"]?.double, "\(name) snr_db")
            }
            let classifier = c["classifier"]?.bool ?? false
            for (cls, pass) in try XCTUnwrap(c["passes"]?.object) {
                let failures = Verdict.judge([(name: "out", reference: reference, got: got)],
                                             classifierOutput: classifier ? "out" : nil, precision: cls)
                XCTAssertEqual(failures.isEmpty, pass.bool, "\(name) \(cls): \(failures)")
                if classifier, let a = c["agreement"]?[cls] {
                    let mine = Verdict.agreement(reference: reference, got: got, tieMargin: Verdict.rules[cls]!.tieMargin)
                    XCTAssertEqual(mine.decisiveSamples, a["decisive_samples"]?.int, "\(name) \(cls)")
                    XCTAssertEqual(mine.ties, a["ties"]?.int, "\(name) \(cls)")
                    XCTAssertEqual(mine.flippedSamples, try Fixtures.ints(a["flipped_samples"]), "\(name) \(cls)")
                    close(mine.top1Agreement, a["top1_agreement"]?.double, "\(name) \(cls) top1")
                }
            }
        }
    }

    func testPrecisionClasses() {
        XCTAssertEqual(Verdict.precisionClass("fp16"), "fp16")
        XCTAssertEqual(Verdict.precisionClass("int4"), "int8")
        XCTAssertEqual(Verdict.precisionClass("lut6"), "int8")
        XCTAssertEqual(Verdict.precisionClass("fp16-sparse"), "fp16")
        XCTAssertEqual(Verdict.precisionClass("float32"), "fp32")
    }

    func testNonFiniteNeverPasses() {
        let ref: [[Double]] = [[1, 2, 3], [3, 2, 1]]
        XCTAssertFalse(Verdict.judge([(name: "y", reference: ref, got: [[1, 2, 3], [3, .infinity, 1]])], precision: "int8").isEmpty)
        XCTAssertTrue(Verdict.judge([(name: "y", reference: ref, got: ref)], precision: "fp32").isEmpty)
    }
}
