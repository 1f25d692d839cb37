import Foundation
import MobileKitCore
import XCTest

/// The translation golden sentences the iOS harness benchmarks over.
final class GoldenSentenceTests: XCTestCase {
    func testParsesSourceAndOutputIds() throws {
        let json = """
        {"max_source_len": 4, "samples": [
          {"text": "a b", "source_ids": [5, 6, 2, 0], "output_ids": [7, 2]},
          {"text": "c", "source_ids": [8, 2, 0, 0], "output_ids": [9, 9, 2]}]}
        """
        let sentences = try GoldenSentence.parse(Data(json.utf8))
        XCTAssertEqual(sentences, [
            GoldenSentence(text: "a b", sourceIds: [5, 6, 2, 0], outputIds: [7, 2]),
            GoldenSentence(text: "c", sourceIds: [8, 2, 0, 0], outputIds: [9, 9, 2]),
        ])
    }

    func testRefusesFilesWithoutSamplesOrIds() {
        XCTAssertThrowsError(try GoldenSentence.parse(Data(#"{"samples": []}"#.utf8))) { error in
            XCTAssertEqual(error as? GoldenError, .invalid("translation.json has no samples"))
        }
        XCTAssertThrowsError(try GoldenSentence.parse(Data(#"{"samples": [{"text": "x"}]}"#.utf8))) { error in
            XCTAssertEqual(error as? GoldenError, .invalid("translation.json samples[0] has no source_ids or output_ids"))
        }
    }

    func testTheShippedTranslatorsSentences() throws {
        guard let root = ProcessInfo.processInfo.environment["MOBILEKIT_TRANSLATOR_BUNDLE"] else {
            throw XCTSkip("MOBILEKIT_TRANSLATOR_BUNDLE is not set")
        }
        let bundle = URL(fileURLWithPath: root)
        let manifest = try BundleManifest.load(bundle.appendingPathComponent("manifest.json"))
        let spec = try XCTUnwrap(manifest.translation)
        let sentences = try GoldenSentence.load(bundle.appendingPathComponent(try XCTUnwrap(spec.golden)))
        XCTAssertFalse(sentences.isEmpty)
        for s in sentences {
            XCTAssertEqual(s.sourceIds.count, spec.maxSourceLen)
            // greedy decoding stops at <eos> or after max_target_len - 1 tokens
            XCTAssertTrue(s.outputIds.last == spec.specialTokens.eos || s.outputIds.count == spec.maxTargetLen - 1, s.text)
        }
    }
}
