import Foundation
import MobileKitCore
import XCTest

/// The fake decoder of Fixtures/beam_golden.json: logits = table[position][fed token], plus a
/// bonus at id (sum of (i+1)·h_i over the ids h fed before, start first) % vocab. Its decoder
/// state is that history, so a beam run with another beam's cache gets other logits.
final class TableRunner: Seq2SeqBeamRunner {
    let table: [[[Float]]]
    let bonus: Float
    var decoderState: [Int] = []
    var steps = 0

    init(table: [[[Float]]], bonus: Float) {
        self.table = table
        self.bonus = bonus
    }

    func start(sourceIds: [Int]) throws {
        decoderState = []
    }

    func step(token: Int, position: Int) throws -> [Float] {
        guard decoderState.count == position, position < table.count else {
            throw NSError(domain: "TableRunner", code: 1, userInfo: [NSLocalizedDescriptionKey: "state of \(decoderState.count) at step \(position)"])
        }
        steps += 1
        let (logits, next) = Self.logits(table: table, bonus: bonus, token: token, position: position, history: decoderState)
        decoderState = next
        return logits
    }

    static func logits(table: [[[Float]]], bonus: Float, token: Int, position: Int, history: [Int]) -> (logits: [Float], state: [Int]) {
        var logits = table[position][token]
        var index = 0
        for (i, h) in history.enumerated() { index += (i + 1) * h }
        logits[index % logits.count] += bonus
        return (logits, history + [token])
    }
}

final class BeamSearchTests: XCTestCase {
    struct GoldenCase {
        let name: String
        let table: [[[Float]]]
        let bonus: Float
        let contract: DecodingContract
        let greedy: [Int]
        let beams: [Int: [Int]]
    }

    func goldenCases() throws -> [GoldenCase] {
        let doc = try Fixtures.json("beam_golden.json")
        return try XCTUnwrap(doc["cases"]?.array).map { (c: JSONValue) throws -> GoldenCase in
            let table: [[[Float]]] = try XCTUnwrap(c["table"]?.array).map { (position: JSONValue) throws -> [[Float]] in
                try XCTUnwrap(position.array).map { (row: JSONValue) throws -> [Float] in
                    try XCTUnwrap(row.array).map { (value: JSONValue) throws -> Float in
                        let d = try XCTUnwrap(value.double)
                        return Float(d)
                    }
                }
            }
            var beams: [Int: [Int]] = [:]
            for (width, ids) in try XCTUnwrap(c["beam"]?.object) {
                let k = try XCTUnwrap(Int(width))
                beams[k] = try Fixtures.ints(ids)
            }
            let contract = DecodingContract(
                start: try XCTUnwrap(c["start"]?.int), eos: try XCTUnwrap(c["eos"]?.int),
                forcedBos: c["forced_bos"]?.int, forcedEos: c["forced_eos"]?.int,
                maxTargetLen: try XCTUnwrap(c["max_target_len"]?.int), vocabSize: try XCTUnwrap(c["vocab_size"]?.int)
            )
            let bonus = try XCTUnwrap(c["cache_bonus"]?.double)
            return GoldenCase(name: try XCTUnwrap(c["name"]?.string), table: table, bonus: Float(bonus),
                              contract: contract, greedy: try Fixtures.ints(c["greedy"]), beams: beams)
        }
    }

    /// BeamSearch.search over the step function == mobilekit.tasks.decoding.beam for widths 1-4.
    func testBeamSearchMatchesThePythonRunner() throws {
        let cases = try goldenCases()
        XCTAssertEqual(cases.count, 3)
        var differs = 0
        for c in cases {
            XCTAssertEqual(Set(c.beams.keys), [1, 2, 3, 4])
            for (width, expected) in c.beams {
                let got = BeamSearch.search(width: width, contract: c.contract, initialState: [Int]()) { token, position, history in
                    XCTAssertEqual(history.count, position)  // each beam carries its own cache
                    return TableRunner.logits(table: c.table, bonus: c.bonus, token: token, position: position, history: history)
                }
                XCTAssertEqual(got, expected, "\(c.name) width \(width)")
                if expected != c.greedy { differs += 1 }
            }
        }
        XCTAssertGreaterThan(differs, 0)  // the beams leave the greedy path somewhere
    }

    /// Through a runner whose state is swapped per beam, and greedy with the contract's forced tokens.
    func testRunnersDecodeLikeThePythonRunner() throws {
        for c in try goldenCases() {
            let runner = TableRunner(table: c.table, bonus: c.bonus)
            let greedy = try GreedyDecoder.decode(sourceIds: [3, 2, 1, 1], runner: runner, contract: c.contract, clock: { 0 })
            XCTAssertEqual(greedy.ids, c.greedy, c.name)
            XCTAssertEqual(greedy.stoppedAtEos, c.greedy.last == c.contract.eos)
            for width in [2, 3, 4] {
                var now = 0.0
                let result = try BeamSearch.decode(sourceIds: [3, 2, 1, 1], runner: runner, contract: c.contract, width: width,
                                                   clock: { now += 0.001; return now })
                XCTAssertEqual(result.ids, c.beams[width], "\(c.name) width \(width)")
                XCTAssertEqual(result.stoppedAtEos, result.ids.last == c.contract.eos)
                XCTAssertGreaterThanOrEqual(result.stepMs.count, result.ids.count)  // one entry per position
                XCTAssertEqual(result.encoderMs, 1, accuracy: 1e-9)
            }
        }
    }

    func testForcedTokens() {
        let c = DecodingContract(start: 0, eos: 2, forcedBos: 7, forcedEos: 2, maxTargetLen: 5)
        XCTAssertEqual(c.limit, 4)
        XCTAssertEqual((0..<4).map { c.forced(position: $0) }, [7, nil, nil, 2])
        let none = DecodingContract(start: 1, eos: 2, maxTargetLen: 5)
        XCTAssertEqual((0..<4).map { none.forced(position: $0) }, [nil, nil, nil, nil])
    }

    func testBestIsAStableDescendingArgsort() {
        XCTAssertEqual(BeamSearch.best([1, 3, 3, -Float.infinity, 2, .nan, 3], count: 4), [1, 2, 6, 4])
        XCTAssertEqual(BeamSearch.best([-Float.infinity, -Float.infinity, 0], count: 3), [2, 0, 1])
        XCTAssertEqual(BeamSearch.best([5], count: 3), [0])
    }

    func testLogSoftmax() {
        let out = BeamSearch.logSoftmax([1, 2, 3], count: 3)
        let expected: [Float] = [-2.407606, -1.407606, -0.407606]
        for (a, b) in zip(out, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(BeamSearch.logSoftmax([0, 0], count: 3).last, -Float.infinity)  // short rows padded
        XCTAssertEqual(BeamSearch.logSoftmax([0, 0, 9, 9], count: 2), [-Float(log(2.0)), -Float(log(2.0))])
    }

    /// Width 1 keeps greedy's answer on a peaked table; a width-1 search needs one beam only.
    func testWidthOneRunsOneBeam() throws {
        let c = try XCTUnwrap(goldenCases().first)
        let runner = TableRunner(table: c.table, bonus: c.bonus)
        _ = try BeamSearch.decode(sourceIds: [1], runner: runner, contract: c.contract, width: 1, clock: { 0 })
        XCTAssertLessThanOrEqual(runner.steps, c.contract.limit)
        XCTAssertEqual(BeamSearch.search(width: 0, contract: c.contract, initialState: 0) { _, _, s in ([0], s) }, [])
    }
}
