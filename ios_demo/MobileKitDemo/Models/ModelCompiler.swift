import CoreML
import Foundation

/// The bundles ship `.mlpackage` folders (copied verbatim, not compiled by Xcode): each is
/// compiled on first use and the `.mlmodelc` kept in Application Support, keyed by the
/// artifact's sha256 so a new bundle gets a new compile.
enum ModelCompiler {
    static func cacheDirectory() throws -> URL {
        let fm = FileManager.default
        var dir = try fm.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("CompiledModels", isDirectory: true)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true  // it can always be rebuilt from the app bundle
        try? dir.setResourceValues(values)
        return dir
    }

    static func compiledModel(for package: URL, key: String) async throws -> URL {
        let fm = FileManager.default
        let name = package.deletingPathExtension().lastPathComponent
        let cached = try cacheDirectory().appendingPathComponent("\(name)-\(key.prefix(16)).mlmodelc", isDirectory: true)
        if fm.fileExists(atPath: cached.path) { return cached }
        let compiled = try await MLModel.compileModel(at: package)
        // compileModel writes into a temporary folder: copy beside the cache entry, then rename,
        // so an interrupted copy never looks like a finished one.
        let staging = cached.deletingLastPathComponent().appendingPathComponent(UUID().uuidString, isDirectory: true)
        try fm.copyItem(at: compiled, to: staging)
        try? fm.removeItem(at: compiled)
        if fm.fileExists(atPath: cached.path) {
            try? fm.removeItem(at: staging)
        } else {
            try fm.moveItem(at: staging, to: cached)
        }
        return cached
    }

    static func load(_ package: URL, key: String, units: MLComputeUnits) async throws -> MLModel {
        guard FileManager.default.fileExists(atPath: package.path) else {
            throw DemoError.badModel("\(package.lastPathComponent) is missing from the app: scaffold the bundle again.")
        }
        let url = try await compiledModel(for: package, key: key)
        let configuration = MLModelConfiguration()
        configuration.computeUnits = units
        return try await MLModel.load(contentsOf: url, configuration: configuration)
    }

    /// Compiles and loads a bundle artifact.
    static func load(_ artifact: Artifact, in bundle: AppBundle, units: MLComputeUnits) async throws -> MLModel {
        try await load(bundle.url(artifact.path), key: artifact.sha256 ?? "\(artifact.variant)-unhashed", units: units)
    }
}
