import Foundation

/// A rectangle in some pixel or point space (Foundation's CGRect is not on every platform the
/// core builds for, so the core keeps its own).
public struct Rect: Equatable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var description: String { "(\(x), \(y), \(width)×\(height))" }

    /// Whether `other` lies inside this one (within `tolerance`).
    public func contains(_ other: Rect, tolerance: Double = 1e-9) -> Bool {
        other.x >= x - tolerance && other.y >= y - tolerance
            && other.maxX <= maxX + tolerance && other.maxY <= maxY + tolerance
    }
}

/// How a preview scales the camera frame into its view (AVLayerVideoGravity's two scaling modes).
public enum PreviewGravity: Sendable {
    /// The whole frame, letterboxed (`.resizeAspect`).
    case fit
    /// The view filled, the frame's overflow cut off (`.resizeAspectFill`).
    case fill
}

/// What the model sees of a camera frame, and where that is on screen. The model input is the
/// largest centred region of the frame with the model's aspect ratio (`Preprocess.centerCropResize`
/// and Vision's `.centerCrop` take the same region), so the guide box is that region mapped into
/// the preview's coordinates.
public enum FramingGuide {
    /// The region of a `frameWidth` × `frameHeight` frame that a `modelWidth` × `modelHeight`
    /// input is resized from, in frame pixels.
    public static func cropRegion(frameWidth: Int, frameHeight: Int, modelWidth: Int, modelHeight: Int) -> Rect {
        precondition(frameWidth > 0 && frameHeight > 0 && modelWidth > 0 && modelHeight > 0, "sizes must be positive")
        let targetAspect = Double(modelWidth) / Double(modelHeight)
        var w = Double(frameWidth)
        var h = Double(frameHeight)
        if w / h > targetAspect { w = h * targetAspect } else { h = w / targetAspect }
        return Rect(x: (Double(frameWidth) - w) / 2, y: (Double(frameHeight) - h) / 2, width: w, height: h)
    }

    /// Where the frame itself is drawn in a `viewWidth` × `viewHeight` preview (it may overflow
    /// the view with `.fill`).
    public static func frameRect(frameWidth: Int, frameHeight: Int, viewWidth: Double, viewHeight: Double,
                                 gravity: PreviewGravity) -> Rect {
        let sx = viewWidth / Double(frameWidth)
        let sy = viewHeight / Double(frameHeight)
        let s = gravity == .fit ? min(sx, sy) : max(sx, sy)
        let w = Double(frameWidth) * s
        let h = Double(frameHeight) * s
        return Rect(x: (viewWidth - w) / 2, y: (viewHeight - h) / 2, width: w, height: h)
    }

    /// The model's region in view coordinates: the box to draw over the preview.
    public static func guideRect(frameWidth: Int, frameHeight: Int, modelWidth: Int, modelHeight: Int,
                                 viewWidth: Double, viewHeight: Double, gravity: PreviewGravity) -> Rect {
        let crop = cropRegion(frameWidth: frameWidth, frameHeight: frameHeight, modelWidth: modelWidth, modelHeight: modelHeight)
        let frame = frameRect(frameWidth: frameWidth, frameHeight: frameHeight, viewWidth: viewWidth, viewHeight: viewHeight,
                              gravity: gravity)
        let s = frame.width / Double(frameWidth)
        return Rect(x: frame.x + crop.x * s, y: frame.y + crop.y * s, width: crop.width * s, height: crop.height * s)
    }
}
