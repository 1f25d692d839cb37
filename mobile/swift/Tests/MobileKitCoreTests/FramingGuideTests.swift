import Foundation
import MobileKitCore
import XCTest

/// The framing guide: the box drawn over the preview is exactly the region the model is fed.
final class FramingGuideTests: XCTestCase {
    // A portrait VGA frame (the app rotates the 640x480 camera output by 90°).
    let frameW = 480, frameH = 640

    func testTheDigitsModelSeesTheCentredSquare() {
        let crop = FramingGuide.cropRegion(frameWidth: frameW, frameHeight: frameH, modelWidth: 32, modelHeight: 32)
        XCTAssertEqual(crop, Rect(x: 0, y: 80, width: 480, height: 480))
    }

    func testAnImageNetModelSeesTheSameSquareAndAWideModelABand() {
        XCTAssertEqual(FramingGuide.cropRegion(frameWidth: frameW, frameHeight: frameH, modelWidth: 224, modelHeight: 224),
                       Rect(x: 0, y: 80, width: 480, height: 480))
        // a 2:1 model on a landscape 640x480 frame: full width, a centred 320-pixel band
        XCTAssertEqual(FramingGuide.cropRegion(frameWidth: 640, frameHeight: 480, modelWidth: 64, modelHeight: 32),
                       Rect(x: 0, y: 80, width: 640, height: 320))
        // a tall model on a landscape frame: full height
        XCTAssertEqual(FramingGuide.cropRegion(frameWidth: 640, frameHeight: 480, modelWidth: 24, modelHeight: 32),
                       Rect(x: 140, y: 0, width: 360, height: 480))
    }

    func testFitShowsTheWholeFrameSoTheGuideIsAlwaysOnScreen() {
        // an iPhone-shaped view (390x844 points): the frame is scaled to the width, letterboxed
        let view = Rect(x: 0, y: 0, width: 390, height: 844)
        let frame = FramingGuide.frameRect(frameWidth: frameW, frameHeight: frameH, viewWidth: 390, viewHeight: 844, gravity: .fit)
        XCTAssertEqual(frame.width, 390, accuracy: 1e-9)
        XCTAssertEqual(frame.height, 520, accuracy: 1e-9)
        XCTAssertEqual(frame.y, 162, accuracy: 1e-9)
        for side in [32, 224] {
            let guide = FramingGuide.guideRect(frameWidth: frameW, frameHeight: frameH, modelWidth: side, modelHeight: side,
                                               viewWidth: 390, viewHeight: 844, gravity: .fit)
            XCTAssertEqual(guide.width, 390, accuracy: 1e-9)
            XCTAssertEqual(guide.height, 390, accuracy: 1e-9)
            XCTAssertEqual(guide.y, 162 + 80 * 390.0 / 480.0, accuracy: 1e-9)
            XCTAssertTrue(view.contains(guide))
            XCTAssertTrue(frame.contains(guide))
        }
        // an iPad in landscape (1194x834) with a landscape frame
        let guide = FramingGuide.guideRect(frameWidth: 640, frameHeight: 480, modelWidth: 224, modelHeight: 224,
                                           viewWidth: 1194, viewHeight: 834, gravity: .fit)
        XCTAssertEqual(guide.height, 834, accuracy: 1e-9)
        XCTAssertEqual(guide.width, 834, accuracy: 1e-9)
        XCTAssertEqual(guide.x, (1194 - 834) / 2, accuracy: 1e-9)
    }

    func testFillCanCutTheModelsRegionOff() {
        // with aspect fill on a tall view the square the model sees is wider than the screen:
        // the reason the app previews with .fit
        let guide = FramingGuide.guideRect(frameWidth: frameW, frameHeight: frameH, modelWidth: 32, modelHeight: 32,
                                           viewWidth: 390, viewHeight: 844, gravity: .fill)
        XCTAssertGreaterThan(guide.width, 390)
        XCTAssertFalse(Rect(x: 0, y: 0, width: 390, height: 844).contains(guide))
    }

    func testThePreprocessorCropsTheGuidesRegion() {
        // 6x2 frame: columns 0-1 red, 2-3 green, 4-5 blue; a 2x2 model sees the green middle only
        var rgb: [UInt8] = []
        for _ in 0..<2 {
            for x in 0..<6 { rgb += x < 2 ? [255, 0, 0] : (x < 4 ? [0, 255, 0] : [0, 0, 255]) }
        }
        let frame = RGBAImage.fromRGB(width: 6, height: 2, rgb: rgb)
        let crop = FramingGuide.cropRegion(frameWidth: 6, frameHeight: 2, modelWidth: 2, modelHeight: 2)
        XCTAssertEqual(crop, Rect(x: 2, y: 0, width: 2, height: 2))
        let input = Preprocess.centerCropResize(frame, width: 2, height: 2)
        for y in 0..<2 {
            for x in 0..<2 {
                let (r, g, b) = input.rgb(x, y)
                XCTAssertEqual([r, g, b], [0, 255, 0], "pixel \(x),\(y)")
            }
        }
    }

    func testInPlaceCropOfAPaddedBGRAFrameMatchesTheImagePath() {
        // a 7x5 BGRA frame with 4 bytes of row padding, every pixel different
        let width = 7, height = 5, bytesPerRow = 7 * 4 + 4
        var bytes = [UInt8](repeating: 0, count: bytesPerRow * height)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * bytesPerRow + x * 4
                bytes[i] = UInt8(10 * x)  // B
                bytes[i + 1] = UInt8(30 * y)  // G
                bytes[i + 2] = UInt8(200 - 20 * x)  // R
                bytes[i + 3] = 255
            }
        }
        let frame = RGBAImage(width: width, height: height, bytesPerRow: bytesPerRow, order: .bgra, pixels: bytes)
        for (w, h) in [(3, 3), (2, 4), (9, 9)] {
            let viaImage = Preprocess.centerCropResize(frame, width: w, height: h)
            let inPlace = bytes.withUnsafeBytes {
                Preprocess.centerCropResize(pixels: $0, width: width, height: height, bytesPerRow: bytesPerRow, order: .bgra,
                                            toWidth: w, toHeight: h)
            }
            XCTAssertEqual(inPlace, viaImage, "\(w)x\(h)")
            XCTAssertEqual(inPlace.order, .rgba)
        }
        // the centre pixel of a 1x1 crop of the 5x5 centre square is pixel (3, 2): R = 200 - 60
        let one = bytes.withUnsafeBytes {
            Preprocess.centerCropResize(pixels: $0, width: width, height: height, bytesPerRow: bytesPerRow, order: .bgra,
                                        toWidth: 1, toHeight: 1)
        }
        XCTAssertEqual(one.rgb(0, 0).0, 140)
        XCTAssertEqual(one.rgb(0, 0).2, 30)
    }
}
