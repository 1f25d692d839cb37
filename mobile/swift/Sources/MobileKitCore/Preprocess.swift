import Foundation

/// The byte order of a 4-byte pixel: camera frames are BGRA, decoded images usually RGBA.
public enum PixelOrder: Equatable, Sendable {
    case rgba
    case bgra
}

/// An 8-bit, 4-channel pixel buffer (rows may be padded: `bytesPerRow >= width * 4`).
public struct RGBAImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let bytesPerRow: Int
    public let order: PixelOrder
    public let pixels: [UInt8]

    public init(width: Int, height: Int, bytesPerRow: Int? = nil, order: PixelOrder = .rgba, pixels: [UInt8]) {
        let stride = bytesPerRow ?? width * 4
        precondition(width > 0 && height > 0 && stride >= width * 4, "bad image geometry")
        precondition(pixels.count >= stride * (height - 1) + width * 4, "pixel buffer too small")
        self.width = width
        self.height = height
        self.bytesPerRow = stride
        self.order = order
        self.pixels = pixels
    }

    /// An opaque image from tightly packed RGB bytes (the bundles' golden `pixels.*.npy`, NHWC).
    public static func fromRGB(width: Int, height: Int, rgb: [UInt8]) -> RGBAImage {
        precondition(rgb.count == width * height * 3, "expected \(width * height * 3) RGB bytes")
        var out = [UInt8](repeating: 255, count: width * height * 4)
        for i in 0..<(width * height) {
            out[i * 4] = rgb[i * 3]
            out[i * 4 + 1] = rgb[i * 3 + 1]
            out[i * 4 + 2] = rgb[i * 3 + 2]
        }
        return RGBAImage(width: width, height: height, order: .rgba, pixels: out)
    }

    /// (r, g, b) of the pixel at (x, y).
    @inline(__always)
    public func rgb(_ x: Int, _ y: Int) -> (Float, Float, Float) {
        let i = y * bytesPerRow + x * 4
        let r = Float(pixels[order == .rgba ? i : i + 2])
        let g = Float(pixels[i + 1])
        let b = Float(pixels[order == .rgba ? i + 2 : i])
        return (r, g, b)
    }
}

public enum Preprocess {
    /// Crop the largest centred region with the target's aspect ratio, then resize it bilinearly
    /// (pixel centres aligned, like PIL's BILINEAR when upscaling) to `width` × `height`.
    public static func centerCropResize(_ image: RGBAImage, width: Int, height: Int) -> RGBAImage {
        if image.width == width && image.height == height { return image }
        return image.pixels.withUnsafeBytes { raw in
            centerCropResize(pixels: raw, width: image.width, height: image.height, bytesPerRow: image.bytesPerRow,
                             order: image.order, toWidth: width, toHeight: height)
        }
    }

    /// The same, read in place from a 4-byte-per-pixel buffer (a locked camera frame): only the
    /// small result is allocated, never a copy of the whole frame.
    public static func centerCropResize(pixels: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerRow: Int,
                                        order: PixelOrder, toWidth: Int, toHeight: Int) -> RGBAImage {
        precondition(width > 0 && height > 0 && bytesPerRow >= width * 4, "bad image geometry")
        precondition(pixels.count >= bytesPerRow * (height - 1) + width * 4, "pixel buffer too small")
        // The same region the app's framing guide draws (one definition of "what the model sees").
        let crop = FramingGuide.cropRegion(frameWidth: width, frameHeight: height, modelWidth: toWidth, modelHeight: toHeight)
        let sx = crop.width / Double(toWidth)
        let sy = crop.height / Double(toHeight)
        let (ri, bi) = order == .rgba ? (0, 2) : (2, 0)
        @inline(__always) func rgb(_ x: Int, _ y: Int) -> (Float, Float, Float) {
            let i = y * bytesPerRow + x * 4
            return (Float(pixels[i + ri]), Float(pixels[i + 1]), Float(pixels[i + bi]))
        }
        var out = [UInt8](repeating: 255, count: toWidth * toHeight * 4)
        for y in 0..<toHeight {
            let fy = min(max(crop.y + (Double(y) + 0.5) * sy - 0.5, 0), Double(height - 1))
            let yLo = Int(fy)
            let yHi = min(yLo + 1, height - 1)
            let wy = Float(fy - Double(yLo))
            for x in 0..<toWidth {
                let fx = min(max(crop.x + (Double(x) + 0.5) * sx - 0.5, 0), Double(width - 1))
                let xLo = Int(fx)
                let xHi = min(xLo + 1, width - 1)
                let wx = Float(fx - Double(xLo))
                let a = rgb(xLo, yLo), b = rgb(xHi, yLo), c = rgb(xLo, yHi), d = rgb(xHi, yHi)
                func mix(_ p: Float, _ q: Float, _ r: Float, _ s: Float) -> UInt8 {
                    let top = p + (q - p) * wx
                    let bottom = r + (s - r) * wx
                    return UInt8(clamping: Int((top + (bottom - top) * wy).rounded()))
                }
                let o = (y * toWidth + x) * 4
                out[o] = mix(a.0, b.0, c.0, d.0)
                out[o + 1] = mix(a.1, b.1, c.1, d.1)
                out[o + 2] = mix(a.2, b.2, c.2, d.2)
            }
        }
        return RGBAImage(width: toWidth, height: toHeight, order: .rgba, pixels: out)
    }

    /// The model input of one image (batch of one): `(pixel * scale - mean) / std` per channel,
    /// channels as `preprocessing.color` says (RGB, BGR or GRAY = mean of R, G, B), in `layout`.
    public static func tensor(_ image: RGBAImage, spec: ImageInputSpec) -> [Float] {
        let img = centerCropResize(image, width: spec.width, height: spec.height)
        let pre = spec.preprocessing
        let gray = pre.color.uppercased() == "GRAY"
        let bgr = pre.color.uppercased() == "BGR"
        let channels = gray ? 1 : 3
        let scale = Float(pre.scale)
        let mean = (0..<channels).map { Float(pre.mean.count > $0 ? pre.mean[$0] : pre.mean.first ?? 0) }
        let std = (0..<channels).map { Float(pre.std.count > $0 ? pre.std[$0] : pre.std.first ?? 1) }
        let plane = img.width * img.height
        var out = [Float](repeating: 0, count: plane * channels)
        for y in 0..<img.height {
            for x in 0..<img.width {
                let (r, g, b) = img.rgb(x, y)
                let values: [Float] = gray ? [(r + g + b) / 3] : (bgr ? [b, g, r] : [r, g, b])
                let p = y * img.width + x
                for c in 0..<channels {
                    let v = (values[c] * scale - mean[c]) / std[c]
                    out[spec.layout == .nchw ? c * plane + p : p * channels + c] = v
                }
            }
        }
        return out
    }
}
