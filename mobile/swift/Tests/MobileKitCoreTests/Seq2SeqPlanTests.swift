import Foundation
import MobileKitCore
import XCTest

final class Seq2SeqPlanTests: XCTestCase {
    static let translation = """
    {"tokenizer": "assets/tokenizer.json", "special_tokens": {"pad": 0, "bos": 1, "eos": 2, "unk": 3},
     "vocab_size": 8, "max_source_len": 6, "max_target_len": 5, "source_format": "tokens <eos> <pad>...",
     "encoder": {"inputs": [{"name": "src_ids", "shape": [1, 6], "dtype": "int32"},
                            {"name": "src_key_padding_mask", "shape": [1, 6], "dtype": "bool"}],
                 "outputs": [{"name": "memory", "shape": [1, 6, 4], "dtype": "float32"}]},
     "decoder": {"inputs": [{"name": "token", "shape": [1, 1], "dtype": "int32"},
                            {"name": "position", "shape": [1], "dtype": "int32"},
                            {"name": "memory", "shape": [1, 6, 4], "dtype": "float32"},
                            {"name": "src_key_padding_mask", "shape": [1, 6], "dtype": "bool"},
                            {"name": "past_k", "shape": [2, 1, 2, 5, 2], "dtype": "float32"},
                            {"name": "past_v", "shape": [2, 1, 2, 5, 2], "dtype": "float32"}],
                 "outputs": [{"name": "logits", "shape": [1, 1, 8], "dtype": "float32"},
                             {"name": "new_v", "shape": [2, 1, 2, 5, 2], "dtype": "float32"},
                             {"name": "new_k", "shape": [2, 1, 2, 5, 2], "dtype": "float32"}]},
     "cache": {"layers": 2, "heads": 2, "head_dim": 2}}
    """

    func spec(_ json: String = translation) throws -> TranslationSpec {
        try JSONDecoder().decode(TranslationSpec.self, from: Data(json.utf8))
    }

    func testRolesFromNamesAndDtypes() throws {
        let plan = try Seq2SeqPlan(spec: spec())
        XCTAssertEqual(plan.encoderInputs.map { $0.role }, [.sourceIds, .sourceMask(padMeansOne: true)])
        XCTAssertEqual(plan.decoderInputs.map { $0.role },
                       [.token, .position, .memory("memory"), .sourceMask(padMeansOne: true), .cache, .cache])
        XCTAssertEqual(plan.logits.name, "logits")
        XCTAssertEqual(plan.cachePairs.map { "\($0.input.name)<-\($0.output.name)" }, ["past_k<-new_k", "past_v<-new_v"])
    }

    /// The tensor names mobilekit's translation export writes (mobilekit/tasks/seq2seq_split.py).
    func testMobilekitTranslatorNames() throws {
        func t(_ name: String, _ dtype: String) -> String { #"{"name": "\#(name)", "shape": [1], "dtype": "\#(dtype)"}"# }
        let json = """
        {"tokenizer": "assets/tokenizer.json", "vocab_size": 8, "max_source_len": 6, "max_target_len": 5,
         "encoder": {"inputs": [\(t("source_ids", "int32"))],
                     "outputs": [\(t("cross_keys", "float32")), \(t("cross_values", "float32")), \(t("source_bias", "float32"))]},
         "decoder": {"inputs": [\(t("token", "int32")), \(t("position", "int32")), \(t("cross_keys", "float32")),
                                \(t("cross_values", "float32")), \(t("source_bias", "float32")),
                                \(t("past_keys", "float32")), \(t("past_values", "float32"))],
                     "outputs": [\(t("logits", "float32")), \(t("present_keys", "float32")), \(t("present_values", "float32"))]}}
        """
        let plan = try Seq2SeqPlan(spec: spec(json))
        XCTAssertEqual(plan.encoderInputs.map { $0.role }, [.sourceIds])
        XCTAssertEqual(plan.decoderInputs.map { $0.role },
                       [.token, .position, .memory("cross_keys"), .memory("cross_values"), .memory("source_bias"), .cache, .cache])
        XCTAssertEqual(plan.logits.name, "logits")
        XCTAssertEqual(plan.cachePairs.map { "\($0.input.name)<-\($0.output.name)" },
                       ["past_keys<-present_keys", "past_values<-present_values"])
        XCTAssertEqual(try spec(json).specialTokens, SpecialTokens(pad: 0, bos: 1, eos: 2, unk: 3))  // the defaults
    }

    func testExplicitRolesWin() throws {
        let json = Self.translation.replacingOccurrences(of: #"{"name": "position", "shape": [1], "dtype": "int32"}"#,
                                                         with: #"{"name": "t", "shape": [1], "dtype": "int32", "role": "position"}"#)
        let plan = try Seq2SeqPlan(spec: spec(json))
        XCTAssertEqual(plan.decoderInputs[1].role, .position)
        XCTAssertEqual(plan.decoderInputs[1].tensor.name, "t")
    }

    func testMasksAndLogitRows() {
        XCTAssertEqual(Seq2SeqPlan.mask([5, 6, 2, 0, 0], pad: 0, padMeansOne: true), [0, 0, 0, 1, 1])
        XCTAssertEqual(Seq2SeqPlan.mask([5, 6, 2, 0, 0], pad: 0, padMeansOne: false), [1, 1, 1, 0, 0])
        XCTAssertEqual(Seq2SeqPlan.logitsRange(count: 8, vocabSize: 8, position: 3), 0..<8)
        XCTAssertEqual(Seq2SeqPlan.logitsRange(count: 40, vocabSize: 8, position: 2), 16..<24)
        XCTAssertEqual(Seq2SeqPlan.logitsRange(count: 40, vocabSize: 8, position: 9), 32..<40)
    }

    func testSourceFormatIsRead() throws {
        let s = try spec()
        XCTAssertFalse(SourceFormat(description: s.sourceFormat).addBos)
        XCTAssertEqual(s.maxTargetLen, 5)
        XCTAssertEqual(s.cache?.headDim, 2)
    }

    /// The real translator manifest gives every encoder and decoder input a role.
    func testTheTranslatorBundlePlan() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.translatorVariable)
        let manifest = try GoldenBundle.manifest(dir)
        let plan = try Seq2SeqPlan(spec: try XCTUnwrap(manifest.translation))
        XCTAssertTrue(plan.encoderInputs.contains { $0.role == .sourceIds })
        XCTAssertTrue(plan.decoderInputs.contains { $0.role == .token })
        XCTAssertEqual(plan.cachePairs.count, plan.decoderInputs.filter { $0.role == .cache }.count)
        XCTAssertFalse(manifest.artifacts(target: "coreml", graph: "encoder").isEmpty)
        XCTAssertFalse(manifest.artifacts(target: "coreml", graph: "decoder").isEmpty)
    }
}
