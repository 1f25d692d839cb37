import Foundation

/// Every bundle-relative path the app's code names, and nothing else: all other paths come
/// from the manifests. `mobilekit scaffold ios --bundle dist/NAME` copies bundle NAME into
/// MobileKitDemo/Bundles/NAME/, a folder reference copied verbatim into the app.
enum BundlePaths {
    /// The image classifier bundle (made by `make demo`).
    static let digitsManifest = "Bundles/digits/manifest.json"
    /// The translation bundle (encoder and decoder-step Core ML models, tokenizer).
    static let translatorManifest = "Bundles/translator/manifest.json"

    /// The file at `relative` inside the app's resources (nil when the app has none).
    static func resource(_ relative: String) -> URL? {
        Bundle.main.resourceURL?.appendingPathComponent(relative)
    }
}
