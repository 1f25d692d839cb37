import Foundation
import MobileKitCore

enum DemoError: LocalizedError, Sendable {
    case missingBundle(String)
    case noArtifact(String)
    case badModel(String)

    var errorDescription: String? {
        switch self {
        case .missingBundle(let path):
            return "No bundle at \(path). Run `mobilekit scaffold ios --bundle dist/<name>` and rebuild."
        case .noArtifact(let what):
            return "The choice has no \(what)."
        case .badModel(let why):
            return why
        }
    }
}

/// A bundle scaffolded into the app: its folder and manifest.
struct AppBundle: Sendable {
    let root: URL
    let manifest: BundleManifest

    static func load(manifestPath: String) throws -> AppBundle {
        guard let url = BundlePaths.resource(manifestPath), FileManager.default.fileExists(atPath: url.path) else {
            throw DemoError.missingBundle(manifestPath)
        }
        return AppBundle(root: url.deletingLastPathComponent(), manifest: try BundleManifest.load(url))
    }

    /// A bundle-relative path from the manifest.
    func url(_ relative: String) -> URL {
        root.appendingPathComponent(relative)
    }

    func labels() -> [String] {
        guard let path = manifest.labelsPath, let text = try? String(contentsOf: url(path), encoding: .utf8) else { return [] }
        return parseLabels(text)
    }
}
