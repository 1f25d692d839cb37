import Foundation
import MobileKitCore
import XCTest

/// Replays recorded decoder logits step by step and records what the decoder was fed.
final class ReplayingRunner: Seq2SeqRunner {
    let rows: [[Float]]
    var started: [Int] = []
    var fed: [(token: Int, position: Int)] = []

    init(rows: [[Float]]) {
        self.rows = rows
    }

    func start(sourceIds: [Int]) throws {
        started = sourceIds
        fed = []
    }

    func step(token: Int, position: Int) throws -> [Float] {
        fed.append((token: token, position: position))
        guard position < rows.count else {
            throw NSError(domain: "ReplayingRunner", code: 1, userInfo: [NSLocalizedDescriptionKey: "step \(position) was not recorded"])
        }
        return rows[position]
    }
}

final class GreedyTests: XCTestCase {
    let special = SpecialTokens(pad: 0, bos: 1, eos: 2, unk: 3)

    func oneHot(_ index: Int, _ size: Int = 6) -> [Float] {
        (0..<size).map { $0 == index ? 1 : 0 }
    }

    func testStopsAtEosAndFeedsBackTheArgmax() throws {
        let runner = ReplayingRunner(rows: [oneHot(4), oneHot(5), [0, 0, 3, 0, 3, 0], oneHot(4)])
        var now = 0.0
        let result = try GreedyDecoder.decode(sourceIds: [4, 2, 0], runner: runner, special: special, maxTargetLen: 10,
                                              clock: { now += 0.002; return now })
        XCTAssertEqual(result.ids, [4, 5, 2])  // a tie between eos (2) and 4: the lower index wins
        XCTAssertTrue(result.stoppedAtEos)
        XCTAssertEqual(result.textIds(eos: 2), [4, 5])
        XCTAssertEqual(runner.started, [4, 2, 0])
        XCTAssertEqual(runner.fed.map { $0.token }, [1, 4, 5])
        XCTAssertEqual(runner.fed.map { $0.position }, [0, 1, 2])
        XCTAssertEqual(result.stepMs.count, 3)
        for ms in result.stepMs { XCTAssertEqual(ms, 2, accuracy: 1e-9) }
    }

    func testStopsAfterMaxTargetLenMinusOneTokens() throws {
        let runner = ReplayingRunner(rows: Array(repeating: oneHot(4), count: 10))
        let result = try GreedyDecoder.decode(sourceIds: [4], runner: runner, special: special, maxTargetLen: 4)
        XCTAssertEqual(result.ids, [4, 4, 4])
        XCTAssertFalse(result.stoppedAtEos)
        XCTAssertEqual(result.textIds(eos: 2), [4, 4, 4])
    }

    /// Greedy decoding over the recorded decoder logits reproduces the golden output ids and text
    /// (the shipped translator or a Hugging Face bundle: start and forced tokens from the manifest).
    func testGoldenStepLogitsReproduceTheOutputIds() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.translatorVariable)
        let manifest = try GoldenBundle.manifest(dir)
        let spec = try XCTUnwrap(manifest.translation)
        let translator = try Translator(bundle: dir, spec: spec)
        let golden = try TranslationGolden(bundle: dir, manifest: manifest)
        for sample in golden.samples {
            let logits = try NpyArray.load(sample.stepLogits)
            XCTAssertEqual(logits.shape.count, 2)
            XCTAssertEqual(logits.shape.last, spec.vocabSize)
            let rows = try (0..<logits.shape[0]).map { try logits.row($0) }
            let runner = ReplayingRunner(rows: rows)
            let result = try GreedyDecoder.decode(sourceIds: sample.sourceIds, runner: runner, contract: translator.contract)
            // The golden ids may or may not carry <bos>/<eos>; compare the generated text ids.
            var expected = sample.outputIds
            if expected.first == spec.specialTokens.bos { expected.removeFirst() }
            if expected.last == spec.specialTokens.eos { expected.removeLast() }
            XCTAssertEqual(result.textIds(eos: spec.specialTokens.eos), expected, sample.text)
            XCTAssertEqual(result.stepMs.count, rows.count, "every recorded step was used: \(sample.text)")
            XCTAssertEqual(runner.fed.first?.token, translator.contract.start)
            XCTAssertEqual(translator.text(result.textIds(eos: spec.specialTokens.eos)), sample.outputText, sample.text)
        }
    }
}
