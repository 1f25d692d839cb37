import Foundation
import MobileKitCore
import XCTest

final class ManifestTests: XCTestCase {
    static let minimal = """
    {"schema": "mobilekit.manifest/1", "name": "digits", "version": "1.0.0", "task": "image_classification",
     "inputs": [{"name": "image", "shape": [1, 3, 32, 24], "dtype": "float32",
                 "preprocessing": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 0.00392156862745098, "color": "RGB"}}],
     "outputs": [{"name": "logits", "shape": [1, 10], "dtype": "float32", "labels": "assets/labels.txt"}],
     "artifacts": [
       {"target": "onnx", "variant": "fp32", "path": "onnx/model.onnx", "status": "verified"},
       {"target": "coreml", "variant": "fp16", "path": "coreml/Digits.mlpackage", "status": "unverified",
        "inputs": [{"name": "image", "tensor": "image", "layout": "image", "dtype": "uint8", "shape": [1, 3, 32, 24]}],
        "extra": {"ignored": true}},
       {"target": "coreml", "variant": "int8", "path": "coreml/Digits.int8.mlpackage", "status": "failed"}
     ],
     "golden": "assets/golden/"}
    """

    func testParsesTheKeysTheAppUses() throws {
        let m = try BundleManifest.parse(Data(Self.minimal.utf8))
        XCTAssertEqual(m.name, "digits")
        XCTAssertEqual(m.labelsPath, "assets/labels.txt")
        XCTAssertEqual(m.artifacts(target: "coreml").map(\.path), ["coreml/Digits.mlpackage"])  // failed ones left out
        let image = try XCTUnwrap(m.imageInput)
        XCTAssertEqual(image.width, 24)
        XCTAssertEqual(image.height, 32)
        XCTAssertEqual(image.layout, .nchw)
        XCTAssertEqual(image.preprocessing.scale, 1.0 / 255.0, accuracy: 1e-12)
        XCTAssertNil(m.translation)
    }

    func testWrongSchemaAndMissingKeysAreNamed() {
        let wrong = Self.minimal.replacingOccurrences(of: "mobilekit.manifest/1", with: "mobilekit.manifest/9")
        XCTAssertThrowsError(try BundleManifest.parse(Data(wrong.utf8))) { error in
            XCTAssertTrue("\(error)".contains("mobilekit.manifest/9"), "\(error)")
        }
        let noName = Self.minimal.replacingOccurrences(of: "\"name\": \"digits\",", with: "")
        XCTAssertThrowsError(try BundleManifest.parse(Data(noName.utf8))) { error in
            XCTAssertTrue("\(error)".contains("name"), "\(error)")
        }
    }

    func testLabels() {
        XCTAssertEqual(parseLabels("zero\r\none\ntwo\n\n"), ["zero", "one", "two"])
    }

    func testTheDigitsBundleManifest() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.digitsVariable)
        let m = try GoldenBundle.manifest(dir)
        XCTAssertEqual(m.task, "image_classification")
        XCTAssertFalse(m.artifacts(target: "coreml").isEmpty)
        let labels = parseLabels(try String(contentsOf: dir.appendingPathComponent(try XCTUnwrap(m.labelsPath)), encoding: .utf8))
        XCTAssertEqual(labels.count, m.outputs[0].shape?.last)
    }
}
