import Foundation
import MobileKitCore
import XCTest

/// Which artifacts the app runs and with what: Core ML, ExecuTorch XNNPACK, the ExecuTorch Core ML delegate.
final class RuntimesTests: XCTestCase {
    static let classifier = """
    {"schema": "mobilekit.manifest/1", "name": "digits", "version": "1", "task": "image_classification",
     "inputs": [{"name": "image", "shape": [1, 3, 32, 32], "dtype": "float32"}], "outputs": [{"name": "logits"}],
     "artifacts": [
       {"target": "onnx", "variant": "fp32", "path": "onnx/model.onnx", "status": "verified"},
       {"target": "executorch", "variant": "fp32", "path": "executorch/model.pte", "status": "verified", "precision": "fp32",
        "details": {"backend": "XnnpackBackend", "delegation": {"delegated_ops": 7}}, "latency_ms": {"p50": 0.2}},
       {"target": "executorch", "variant": "int8", "path": "executorch/model.int8.pte", "status": "unverified",
        "details": {"backend": "XnnpackBackend"}},
       {"target": "executorch", "variant": "coreml", "path": "executorch/model.coreml.pte", "status": "verified", "precision": "fp16",
        "details": {"backend": "CoreMLBackend"}},
       {"target": "executorch", "variant": "ane", "path": "executorch/model.ane.pte", "status": "verified", "details": {"backend": "CoreMLBackend"}},
       {"target": "executorch", "variant": "coreml-int8", "path": "executorch/model.coreml-int8.pte", "status": "verified"},
       {"target": "executorch", "variant": "vulkan", "path": "executorch/model.vulkan.pte", "status": "verified", "details": {"backend": "VulkanBackend"}},
       {"target": "executorch", "variant": "fp16", "path": "executorch/model.fp16.pte", "status": "failed", "details": {"backend": "XnnpackBackend"}},
       {"target": "coreml", "variant": "fp16", "path": "coreml/Digits.mlpackage", "status": "verified", "precision": "fp16"}
     ]}
    """

    func testTheAppTargetsAndTheirRuntimes() throws {
        XCTAssertEqual(Runtimes.appTargets, ["coreml", "executorch"])
        let m = try BundleManifest.parse(Data(Self.classifier.utf8))
        func runtime(_ id: String) -> AppRuntime? {
            m.artifacts.first { "\($0.target)/\($0.variant)" == id }.flatMap(Runtimes.runtime(of:))
        }
        XCTAssertEqual(runtime("coreml/fp16"), .coreML)
        XCTAssertEqual(runtime("executorch/fp32"), .executorchXNNPACK)
        XCTAssertEqual(runtime("executorch/coreml"), .executorchCoreML)
        XCTAssertEqual(runtime("executorch/ane"), .executorchCoreML)  // the backend decides, not the name
        XCTAssertEqual(runtime("executorch/coreml-int8"), .executorchCoreML)  // no details: the variant, as the harness tells
        XCTAssertNil(runtime("executorch/vulkan"))  // a backend the app does not link
        XCTAssertNil(runtime("onnx/fp32"))
        XCTAssertEqual(AppRuntime.allCases.map(\.label), ["Core ML", "ExecuTorch XNNPACK", "ExecuTorch Core ML delegate"])
        XCTAssertEqual(m.artifacts[1].backend, "XnnpackBackend")  // details' other keys are ignored
    }

    func testTheCameraPickerListsCoreMLThenBothKindsOfPte() throws {
        let m = try BundleManifest.parse(Data(Self.classifier.utf8))
        let choices = ModelChoices.appClassifiers(m)
        XCTAssertEqual(choices.map(\.id), ["coreml/fp16", "executorch/fp32", "executorch/coreml", "executorch/ane",
                                          "executorch/coreml-int8", "executorch/int8"])  // verified first within a target
        XCTAssertEqual(Set(choices.map(\.id)).count, choices.count)  // ids unique across targets
        XCTAssertEqual(choices.map(\.runtimeLabel), ["Core ML", "ExecuTorch XNNPACK", "ExecuTorch Core ML delegate",
                                                     "ExecuTorch Core ML delegate", "ExecuTorch Core ML delegate", "ExecuTorch XNNPACK"])
        XCTAssertEqual(ModelChoices.title(choices[1]), "ExecuTorch XNNPACK · fp32 · fp32")
        XCTAssertEqual(ModelChoices.title(choices[5]), "ExecuTorch XNNPACK · int8 · int8 (unverified)")
        let line = ModelChoices.summary(choices[1], device: Stats.latency([1, 2, 3]))
        XCTAssertTrue(line.hasPrefix("ExecuTorch XNNPACK · executorch fp32 · fp32 · verified\nhost p50 0.20 ms"), line)
        XCTAssertEqual(ModelChoices.preferred(choices, wanted: "executorch/coreml")?.runtime, .executorchCoreML)
    }

    func testTranslatePairsOfEveryRuntimeAreUnits() throws {
        var m = try BundleManifest.parse(Data(ModelChoiceTests.translator.utf8))
        let e = m.artifacts[2]  // coreml int8 encoder, both verified
        let d = m.artifacts[3]
        func pte(_ a: Artifact, _ variant: String, _ backend: String) -> Artifact {
            var p = a
            p.target = "executorch"
            p.variant = variant
            p.path = "executorch/\(a.graph ?? "").\(variant).pte"
            p.backend = backend
            return p
        }
        m.artifacts += [pte(e, "fp32", "XnnpackBackend"), pte(d, "fp32", "XnnpackBackend"),
                        pte(e, "coreml", "CoreMLBackend"), pte(d, "coreml", "CoreMLBackend"), pte(e, "fp16", "XnnpackBackend")]
        let pairs = ModelChoices.appPairs(m)
        XCTAssertEqual(pairs.map(\.id), ["coreml/int8", "coreml/fp16", "executorch/fp32", "executorch/coreml"])  // fp16: no decoder
        XCTAssertEqual(pairs.map { $0.runtime }, [.coreML, .coreML, .executorchXNNPACK, .executorchCoreML])
        for pair in pairs { XCTAssertEqual(pair.artifacts.map(\.graph), ["encoder", "decoder"]) }
        // a pair whose halves would run on different runtimes is not offered
        var mixed = m
        if let i = mixed.artifacts.firstIndex(where: { $0.path == "executorch/decoder.coreml.pte" }) { mixed.artifacts[i].backend = "XnnpackBackend" }
        XCTAssertFalse(ModelChoices.appPairs(mixed).map(\.id).contains("executorch/coreml"))
    }

    func testNoneMessageNamesWhatTheBundleHas() throws {
        let onnxOnly = Self.classifier.replacingOccurrences(of: "\"target\": \"executorch\"", with: "\"target\": \"tflite\"")
            .replacingOccurrences(of: "\"target\": \"coreml\"", with: "\"target\": \"onnx\"")
        let m = try BundleManifest.parse(Data(onnxOnly.utf8))
        XCTAssertEqual(ModelChoices.appClassifiers(m), [])
        XCTAssertEqual(ModelChoices.noneMessage(m, what: "classifier"),
                       "digits has no classifier the app runs (only onnx, tflite artifacts): export it with the coreml or executorch target.")
    }
}
