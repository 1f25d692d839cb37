import Foundation
import MobileKitCore
import XCTest

/// An ExecuTorch pair's positional calls: the artifact's input order and dtypes, the cache fed back.
final class ProgramIOTests: XCTestCase {
    /// `translation` lists the decoder inputs in one order; the artifact (what the program takes) in another.
    static let manifest = """
    {"schema": "mobilekit.manifest/1", "name": "translator", "version": "1", "task": "translation", "inputs": [], "outputs": [],
     "translation": {"tokenizer": "assets/tokenizer.json", "special_tokens": {"pad": 0, "bos": 1, "eos": 2, "unk": 3},
       "vocab_size": 5, "max_source_len": 3, "max_target_len": 4,
       "encoder": {"inputs": [{"name": "src", "dtype": "int64", "shape": [1, 3]}],
                   "outputs": [{"name": "memory", "dtype": "float32", "shape": [1, 3, 2]}]},
       "decoder": {"inputs": [{"name": "token", "dtype": "int64", "shape": [1, 1]}, {"name": "memory", "dtype": "float32"},
                              {"name": "past_k", "dtype": "float32", "shape": [1, 2]}, {"name": "position", "dtype": "int32", "shape": [1]},
                              {"name": "src_padding_mask", "dtype": "int32", "shape": [1, 3]}],
                   "outputs": [{"name": "logits", "shape": [1, 5]}, {"name": "present_k", "shape": [1, 2]}]}},
     "artifacts": [
       {"target": "executorch", "variant": "fp32", "graph": "encoder", "path": "executorch/encoder.pte", "status": "verified",
        "inputs": [{"name": "src", "dtype": "int32", "shape": [1, 3]}], "outputs": [{"name": "memory", "shape": [1, 3, 2]}]},
       {"target": "executorch", "variant": "fp32", "graph": "decoder", "path": "executorch/decoder.pte", "status": "verified",
        "inputs": [{"name": "past_k", "dtype": "float32", "shape": [1, 2]}, {"name": "token", "dtype": "int64", "shape": [1, 1]},
                   {"name": "src_padding_mask", "dtype": "int32", "shape": [1, 3]}, {"name": "memory", "dtype": "float32"},
                   {"name": "position", "dtype": "int32", "shape": [1]}],
        "outputs": [{"name": "present_k", "shape": [1, 2]}, {"name": "logits", "shape": [1, 5]}]}
     ]}
    """

    func makeIO(_ text: String = ProgramIOTests.manifest) throws -> Seq2SeqProgramIO {
        let m = try BundleManifest.parse(Data(text.utf8))
        let pair = try XCTUnwrap(ModelChoices.appPairs(m).first)
        return try Seq2SeqProgramIO(spec: try XCTUnwrap(m.translation), encoder: try XCTUnwrap(pair.encoder), decoder: try XCTUnwrap(pair.decoder))
    }

    func testValuesFollowTheArtifactsOrderAndDtypes() throws {
        let io = try makeIO()
        XCTAssertEqual(try io.encoderValues(sourceIds: [7, 2, 0]), [.ints([7, 2, 0], dtype: .int32, shape: [1, 3])])  // the artifact's int32
        XCTAssertEqual(try io.decoderValues(token: 1, position: 0, sourceIds: [7, 2, 0]), [
            .cache("past_k"),
            .ints([1], dtype: .int64, shape: [1, 1]),
            .ints([0, 0, 1], dtype: .int32, shape: [1, 3]),  // padding mask: 1 at the pad
            .memory("memory"),
            .ints([0], dtype: .int32, shape: [1]),
        ])
        XCTAssertEqual(io.logitsOutput, 1)
        XCTAssertEqual(io.cacheOutputs.map { $0.input }, ["past_k"])
        XCTAssertEqual(io.cacheOutputs.map { $0.output }, [0])  // present_k is the decoder's first output
        XCTAssertEqual(io.caches.map { $0.name }, ["past_k"])
        XCTAssertEqual(io.caches.map { $0.shape }, [[1, 2]])
        XCTAssertEqual(io.caches.map { $0.dtype }, [.float32])
    }

    func testMismatchesAreNamedErrors() throws {
        let io = try makeIO()
        XCTAssertThrowsError(try io.encoderValues(sourceIds: [7, 2])) { error in
            XCTAssertEqual(error as? ProgramIOError, .count(tensor: "src", values: 2, shape: [1, 3]))
        }
        XCTAssertThrowsError(try io.check(outputs: 1, graph: "decoder")) { error in
            XCTAssertEqual("\(error)", "the decoder gave 1 output(s); the manifest lists 2")
        }
        XCTAssertNoThrow(try io.check(outputs: 2, graph: "decoder"))
        let fp16Cache = Self.manifest.replacingOccurrences(of: #"{"name": "past_k", "dtype": "float32", "shape": [1, 2]}, {"name": "token""#,
                                                          with: #"{"name": "past_k", "dtype": "float16", "shape": [1, 2]}, {"name": "token""#)
        XCTAssertThrowsError(try makeIO(fp16Cache)) { error in
            XCTAssertEqual(error as? ProgramIOError, .dtype(tensor: "past_k", dtype: "float16"))
        }
        let noLogits = Self.manifest.replacingOccurrences(of: #"{"name": "present_k", "shape": [1, 2]}, {"name": "logits", "shape": [1, 5]}"#,
                                                          with: #"{"name": "present_k", "shape": [1, 2]}"#)
        XCTAssertThrowsError(try makeIO(noLogits)) { error in
            XCTAssertEqual(error as? ProgramIOError, .noOutput(graph: "decoder", tensor: "logits"))
        }
        let unknown = Self.manifest.replacingOccurrences(of: #"{"name": "memory", "dtype": "float32"}, {"name": "position""#,
                                                         with: #"{"name": "extra", "dtype": "float32"}, {"name": "position""#)
        XCTAssertThrowsError(try makeIO(unknown)) { error in
            XCTAssertEqual(error as? ProgramIOError, .noFeed(graph: "decoder", tensor: "extra"))
        }
    }
}
