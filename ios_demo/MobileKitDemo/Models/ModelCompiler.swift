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

    /// The compiled `.mlmodelc` of a bundle artifact (compiled on first use). Async and free of
    /// any model object, so it may run anywhere; the model itself is created on its worker.
    static func compiledURL(_ artifact: Artifact, in bundle: AppBundle) async throws -> URL {
        let package = bundle.url(artifact.path)
        guard FileManager.default.fileExists(atPath: package.path) else {
            throw DemoError.badModel("\(package.lastPathComponent) is missing from the app: scaffold the bundle again.")
        }
        return try await compiledModel(for: package, key: artifact.sha256 ?? "\(artifact.variant)-unhashed")
    }

    /// Loads a compiled model, synchronously: called on the model's own worker thread, the one
    /// that then runs every prediction.
    static func model(at compiled: URL, units: MLComputeUnits) throws -> MLModel {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = units
        return try MLModel(contentsOf: compiled, configuration: configuration)
    }
}
