import Foundation
import MobileKitCore
import XCTest

/// The variant picker's choices: classifier artifacts, and encoder/decoder pairs as one unit.
final class ModelChoiceTests: XCTestCase {
    static let translator = """
    {"schema": "mobilekit.manifest/1", "name": "translator", "version": "1", "task": "translation",
     "inputs": [], "outputs": [],
     "translation": {"tokenizer": "assets/tokenizer.json", "special_tokens": {"pad": 0, "bos": 1, "eos": 2, "unk": 3},
                     "vocab_size": 8, "max_source_len": 4, "max_target_len": 4,
                     "encoder": {"inputs": [], "outputs": []}, "decoder": {"inputs": [], "outputs": []}},
     "artifacts": [
       {"target": "coreml", "variant": "fp16", "graph": "encoder", "path": "coreml/E.mlpackage", "precision": "fp16",
        "status": "unverified", "status_reason": "no Core ML runtime on this host"},
       {"target": "coreml", "variant": "fp16", "graph": "decoder", "path": "coreml/D.mlpackage", "precision": "fp16", "status": "verified"},
       {"target": "coreml", "variant": "int8", "graph": "encoder", "path": "coreml/E8.mlpackage", "precision": "int8", "status": "verified",
        "latency_ms": {"p50": 1.5, "min": 1.0, "runs": 20}},
       {"target": "coreml", "variant": "int8", "graph": "decoder", "path": "coreml/D8.mlpackage", "precision": "int8", "status": "verified",
        "latency_ms": {"p50": 0.25}},
       {"target": "coreml", "variant": "pal4", "graph": "encoder", "path": "coreml/E4.mlpackage", "status": "verified"},
       {"target": "coreml", "variant": "pal4", "graph": "decoder", "path": "coreml/D4.mlpackage", "status": "failed"},
       {"target": "onnx", "variant": "fp32", "graph": "encoder", "path": "onnx/e.onnx", "status": "verified", "latency_ms": "odd"}
     ]}
    """

    func testPairsAreOneVariantAndVerifiedOnesComeFirst() throws {
        let m = try BundleManifest.parse(Data(Self.translator.utf8))
        let pairs = ModelChoices.seq2seqPairs(m, target: "coreml")
        // pal4's decoder failed: no pair; int8 (both verified) before fp16 (encoder unverified)
        XCTAssertEqual(pairs.map(\.variant), ["int8", "fp16"])
        for pair in pairs {
            XCTAssertEqual(pair.encoder?.variant, pair.variant)
            XCTAssertEqual(pair.decoder?.variant, pair.variant)
            XCTAssertEqual(pair.artifacts.map { $0.graph ?? "" }, ["encoder", "decoder"])
        }
        XCTAssertTrue(pairs[0].verified)
        XCTAssertFalse(pairs[1].verified)
        XCTAssertEqual(pairs[1].status, "unverified")
        XCTAssertEqual(pairs[1].statusReason, "no Core ML runtime on this host")
        XCTAssertEqual(pairs[0].hostP50Ms, [1.5, 0.25])
        XCTAssertEqual(ModelChoices.seq2seqPairs(m, target: "onnx"), [])  // an encoder alone is no choice
        XCTAssertNil(m.artifacts.first { $0.target == "onnx" }?.hostP50Ms)  // an odd latency object is ignored, not fatal
    }

    func testPreferredTakesTheWantedVariantElseTheFirstVerified() throws {
        let m = try BundleManifest.parse(Data(Self.translator.utf8))
        let pairs = ModelChoices.seq2seqPairs(m, target: "coreml")
        XCTAssertEqual(ModelChoices.preferred(pairs, wanted: "coreml/fp16")?.variant, "fp16")
        XCTAssertEqual(ModelChoices.preferred(pairs, wanted: "fp16")?.variant, "int8")  // wanted is an id: target/variant
        XCTAssertEqual(ModelChoices.preferred(pairs, wanted: "gone")?.variant, "int8")
        XCTAssertEqual(ModelChoices.preferred(pairs, wanted: nil)?.variant, "int8")
        XCTAssertNil(ModelChoices.preferred([], wanted: "fp16"))
    }

    func testSummaryShowsHostAndDeviceFigures() throws {
        let m = try BundleManifest.parse(Data(Self.translator.utf8))
        let pairs = ModelChoices.seq2seqPairs(m, target: "coreml")
        let device = Stats.latency([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        let line = ModelChoices.summary(pairs[0], device: device)
        XCTAssertTrue(line.hasPrefix("Core ML · coreml int8 · int8 · verified"), line)
        XCTAssertTrue(line.contains("host p50 1.50 + 0.25 ms"), line)
        XCTAssertTrue(line.contains("p50 5.50 / p90 9.10 ms (10 runs)"), line)
        let unverified = ModelChoices.summary(pairs[1], device: nil)
        XCTAssertTrue(unverified.contains("unverified (no Core ML runtime on this host)"), unverified)
        XCTAssertTrue(unverified.contains("host p50 – + – ms"), unverified)
        XCTAssertTrue(unverified.contains("not measured yet"), unverified)
    }

    func testClassifierChoices() throws {
        let m = try BundleManifest.parse(Data(ManifestTests.minimal.utf8))
        let choices = ModelChoices.classifiers(m, target: "coreml")
        XCTAssertEqual(choices.map(\.variant), ["fp16"])  // int8 failed
        XCTAssertEqual(choices[0].artifacts.count, 1)
    }
}
