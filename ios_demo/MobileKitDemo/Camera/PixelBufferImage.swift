import CoreVideo
import MobileKitCore

/// A BGRA camera frame, cropped and resized to the model's input (for models that take a plain
/// tensor), read in place from the locked buffer: no copy of the whole frame is made per frame.
enum PixelBufferImage {
    static func modelImage(_ buffer: CVPixelBuffer, width: Int, height: Int) -> RGBAImage? {
        guard CVPixelBufferGetPixelFormatType(buffer) == kCVPixelFormatType_32BGRA else { return nil }
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else { return nil }
        let frameHeight = CVPixelBufferGetHeight(buffer)
        let bytesPerRow = CVPixelBufferGetBytesPerRow(buffer)
        let pixels = UnsafeRawBufferPointer(start: base, count: bytesPerRow * frameHeight)
        return Preprocess.centerCropResize(pixels: pixels, width: CVPixelBufferGetWidth(buffer), height: frameHeight,
                                           bytesPerRow: bytesPerRow, order: .bgra, toWidth: width, toHeight: height)
    }
}
