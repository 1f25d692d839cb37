import CoreVideo
import MobileKitCore

/// A BGRA camera frame as the core's RGBAImage (for models that take a plain tensor).
enum PixelBufferImage {
    static func image(_ buffer: CVPixelBuffer) -> RGBAImage? {
        guard CVPixelBufferGetPixelFormatType(buffer) == kCVPixelFormatType_32BGRA else { return nil }
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else { return nil }
        let width = CVPixelBufferGetWidth(buffer)
        let height = CVPixelBufferGetHeight(buffer)
        let bytesPerRow = CVPixelBufferGetBytesPerRow(buffer)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: base, count: bytesPerRow * height))
        return RGBAImage(width: width, height: height, bytesPerRow: bytesPerRow, order: .bgra, pixels: bytes)
    }
}
