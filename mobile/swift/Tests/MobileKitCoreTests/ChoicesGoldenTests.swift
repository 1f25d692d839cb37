import Foundation
import MobileKitCore
import XCTest

/// The app's choices on real exported manifests (Fixtures/manifests) against what the Python side
/// says the iOS app gets (Fixtures/choices_golden.json, from mobilekit/scaffold.py): the same
/// choices with the same runtimes, exactly the artifacts scaffold copies, and an ExecuTorch pair's
/// calls in each program's manifest input order and dtypes.
final class ChoicesGoldenTests: XCTestCase {
    func testTheAppOffersWhatScaffoldCopiesWithTheirRuntimes() throws {
        let golden = try Fixtures.json("choices_golden.json")
        XCTAssertEqual(try XCTUnwrap(golden["targets"]?.array).compactMap(\.string), Runtimes.appTargets)
        let manifests = try XCTUnwrap(golden["manifests"]?.object)
        XCTAssertEqual(Set(manifests.keys), ["digits", "translator"])
        for (name, expected) in manifests {
            let manifest = try BundleManifest.load(try Fixtures.url("manifests/\(name).json"))
            let choices = manifest.translation == nil ? ModelChoices.appClassifiers(manifest) : ModelChoices.appPairs(manifest)
            let want = try XCTUnwrap(expected["choices"]?.array)
            XCTAssertEqual(choices.map(\.id).sorted(), want.compactMap { $0["id"]?.string }.sorted(), name)
            for w in want {
                let id = try XCTUnwrap(w["id"]?.string)
                let choice = try XCTUnwrap(choices.first { $0.id == id }, "\(name): no choice \(id)")
                XCTAssertEqual(choice.runtimeLabel, w["runtime"]?.string, id)
                XCTAssertEqual(choice.artifacts.map(\.path), try XCTUnwrap(w["paths"]?.array).compactMap(\.string), id)
                if let inputs = w["inputs"] { try checkCalls(choice, manifest: manifest, inputs: inputs) }
            }
            let copied = try XCTUnwrap(expected["scaffold_copies"]?.array).compactMap(\.string)
            XCTAssertEqual(Set(choices.flatMap { $0.artifacts.map(\.path) }), Set(copied), name)
        }
        // both kinds of .pte are offered on iOS (the real digits export has both)
        let digits = ModelChoices.appClassifiers(try BundleManifest.load(try Fixtures.url("manifests/digits.json")))
        XCTAssertEqual(Set(digits.compactMap(\.runtime)), [.coreML, .executorchXNNPACK, .executorchCoreML])
    }

    /// The positional values name and type each input as the artifact's manifest lists them.
    func checkCalls(_ choice: ModelChoice, manifest: BundleManifest, inputs: JSONValue) throws {
        let spec = try XCTUnwrap(manifest.translation)
        let io = try Seq2SeqProgramIO(spec: spec, encoder: try XCTUnwrap(choice.encoder), decoder: try XCTUnwrap(choice.decoder))
        let source = Array(repeating: spec.specialTokens.pad, count: spec.maxSourceLen)
        let encoderValues = try io.encoderValues(sourceIds: source)
        let decoderValues = try io.decoderValues(token: spec.specialTokens.bos, position: 0, sourceIds: source)
        let calls = [("encoder", io.encoderInputs, encoderValues), ("decoder", io.decoderInputs, decoderValues)]
        for (graph, tensors, values) in calls {
            let want = try XCTUnwrap(inputs[graph]?.array).map { try XCTUnwrap($0.array).compactMap(\.string) }
            XCTAssertEqual(tensors.map { [$0.name, $0.dtype ?? ""] }, want, "\(choice.id) \(graph)")
            XCTAssertEqual(values.count, want.count)
            for (value, w) in zip(values, want) {
                switch value {
                case .ints(_, let dtype, _): XCTAssertEqual(dtype.rawValue, w[1], "\(choice.id) \(w[0])")
                case .memory(let name): XCTAssertTrue(io.encoderOutputs.contains { $0.name == name } && w[1] == "float32", w[0])
                case .cache(let name): XCTAssertEqual(name, w[0])
                }
            }
        }
        XCTAssertEqual(io.caches.count, io.cacheOutputs.count)  // every cache is fed back
        XCTAssertEqual(io.decoderOutputs[io.logitsOutput].name, "logits")
    }
}
