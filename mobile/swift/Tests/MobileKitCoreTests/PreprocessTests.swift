import Foundation
import MobileKitCore
import XCTest

final class PreprocessTests: XCTestCase {
    func spec(_ layout: TensorLayout, color: String = "RGB", width: Int = 2, height: Int = 1) -> ImageInputSpec {
        ImageInputSpec(name: "image", width: width, height: height, channels: color == "GRAY" ? 1 : 3, layout: layout,
                       preprocessing: Preprocessing(mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1], scale: 1.0 / 255.0, color: color))
    }

    // Two pixels: pure red and (0, 51, 255).
    let image = RGBAImage.fromRGB(width: 2, height: 1, rgb: [255, 0, 0, 0, 51, 255])

    func testNCHWAndNHWC() {
        let nchw = Preprocess.tensor(image, spec: spec(.nchw))
        let expected: [Float] = [1, -1, -1, -0.2, 0, 1]  // R plane, G plane, B plane
        for (a, b) in zip(nchw, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let nhwc = Preprocess.tensor(image, spec: spec(.nhwc))
        let interleaved: [Float] = [1, -1, 0, -1, -0.2, 1]
        for (a, b) in zip(nhwc, interleaved) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testBGRAInputAndBGRModels() {
        let bgra = RGBAImage(width: 2, height: 1, order: .bgra, pixels: [0, 0, 255, 255, 255, 51, 0, 255])
        XCTAssertEqual(Preprocess.tensor(bgra, spec: spec(.nchw)), Preprocess.tensor(image, spec: spec(.nchw)))
        let bgr = Preprocess.tensor(image, spec: spec(.nchw, color: "BGR"))
        XCTAssertEqual(bgr[0], (0 - 0.5) / 0.5, accuracy: 1e-6)  // blue of the red pixel, first channel's mean/std
        XCTAssertEqual(bgr[1], (1 - 0.5) / 0.5, accuracy: 1e-6)
    }

    func testGrayIsTheMeanOfRGB() {
        let gray = Preprocess.tensor(image, spec: spec(.nchw, color: "GRAY"))
        XCTAssertEqual(gray.count, 2)
        XCTAssertEqual(gray[0], ((255.0 / 3.0 / 255.0) - 0.5) / 0.5, accuracy: 1e-6)
    }

    func testCenterCropResize() {
        // 4x2 image: left half black, right half white; a centred square crop is the middle 2x2.
        var rgb: [UInt8] = []
        for _ in 0..<2 { rgb += [0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255] }
        let wide = RGBAImage.fromRGB(width: 4, height: 2, rgb: rgb)
        let small = Preprocess.centerCropResize(wide, width: 2, height: 2)
        XCTAssertEqual(small.width, 2)
        XCTAssertEqual(small.rgb(0, 0).0, 0)
        XCTAssertEqual(small.rgb(1, 1).0, 255)
        let same = Preprocess.centerCropResize(wide, width: 4, height: 2)
        XCTAssertEqual(same, wide)
    }

    /// The bundle's golden pixels, preprocessed here, equal its golden model inputs.
    func testGoldenPixelsGiveTheGoldenInputs() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.digitsVariable)
        let manifest = try GoldenBundle.manifest(dir)
        let golden = dir.appendingPathComponent(manifest.golden ?? "assets/golden/")
        let index = try GoldenBundle.json(golden.appendingPathComponent("index.json"))
        let spec = try XCTUnwrap(manifest.imageInput)
        let pixelsEntry = try XCTUnwrap((index["pixels"] as? [String: Any])?[spec.name] as? [String: Any], "no golden pixels")
        let inputsEntry = try XCTUnwrap((index["inputs"] as? [String: Any])?[spec.name] as? [String: Any])
        let pixels = try NpyArray.load(golden.appendingPathComponent(try XCTUnwrap(pixelsEntry["file"] as? String)))
        let inputs = try NpyArray.load(golden.appendingPathComponent(try XCTUnwrap(inputsEntry["file"] as? String)))
        XCTAssertEqual(pixels.shape, [inputs.shape[0], spec.height, spec.width, 3])
        var worst: Float = 0
        for i in 0..<pixels.shape[0] {
            let image = RGBAImage.fromRGB(width: spec.width, height: spec.height, rgb: try pixels.sample(i).bytes())
            let mine = Preprocess.tensor(image, spec: spec)
            let theirs = try inputs.sample(i).floats()
            XCTAssertEqual(mine.count, theirs.count)
            for (a, b) in zip(mine, theirs) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThan(worst, 1e-5, "max abs difference to the golden inputs")
    }
}
