import Foundation

/// Where the benchmark ran (the schema's `device`).
public struct DeviceInfo: Sendable {
    public var platform: String
    public var model: String
    public var os: String
    public var cores: Int?
    public var arch: String?
    public var memoryBytes: Int?

    public init(platform: String, model: String, os: String, cores: Int?, arch: String? = nil, memoryBytes: Int? = nil) {
        self.platform = platform
        self.model = model
        self.os = os
        self.cores = cores
        self.arch = arch
        self.memoryBytes = memoryBytes
    }

    public var dictionary: [String: Any] {
        var d: [String: Any] = ["platform": platform, "model": model, "os": os, "cores": cores ?? NSNull()]
        if let arch { d["arch"] = arch }
        if let memoryBytes { d["memory_bytes"] = memoryBytes }
        return d
    }
}

/// Peak memory around load + runs.
public struct MemoryResult: Sendable {
    public var peakDeltaBytes: Int?
    public var baselineBytes: Int?
    public var peakBytes: Int?
    public var method: String

    public init(peakDeltaBytes: Int?, baselineBytes: Int?, peakBytes: Int?, method: String) {
        self.peakDeltaBytes = peakDeltaBytes
        self.baselineBytes = baselineBytes
        self.peakBytes = peakBytes
        self.method = method
    }

    public var dictionary: [String: Any] {
        [
            "peak_delta_bytes": peakDeltaBytes ?? NSNull(),
            "baseline_bytes": baselineBytes ?? NSNull(),
            "peak_bytes": peakBytes ?? NSNull(),
            "method": method,
        ]
    }
}

/// What one benchmark measured (the schema's `results`).
public struct Timings: Sendable {
    public var initMs: Double?
    public var loadMs: Double
    public var firstInferenceMs: Double
    public var runsMs: [Double]
    public var memory: MemoryResult

    public init(initMs: Double?, loadMs: Double, firstInferenceMs: Double, runsMs: [Double], memory: MemoryResult) {
        self.initMs = initMs
        self.loadMs = loadMs
        self.firstInferenceMs = firstInferenceMs
        self.runsMs = runsMs
        self.memory = memory
    }

    public var dictionary: [String: Any] {
        [
            "init_ms": initMs ?? NSNull(),
            "load_ms": loadMs,
            "first_inference_ms": firstInferenceMs,
            "latency_ms": Stats.latency(runsMs).map { $0.dictionary as Any } ?? NSNull(),
            "runs_ms": runsMs,
            "memory": memory.dictionary,
        ]
    }
}

/// One `mobilekit.bench/1` document.
public struct BenchResult {
    public static let schema = "mobilekit.bench/1"

    public var tool: String
    public var device: DeviceInfo
    public var runtimeName: String
    public var runtimeVersion: String
    public var artifact: Artifact
    public var modelSha256: String
    public var backend: String
    public var computeUnits: String?
    public var warmupRuns: Int
    public var runs: Int
    public var status: String  // ok, failed, unsupported
    public var error: String?
    public var timings: Timings?
    public var notes: [String]
    public var createdAt: String

    public init(tool: String, device: DeviceInfo, runtimeName: String, runtimeVersion: String, artifact: Artifact,
                modelSha256: String, backend: String, computeUnits: String?, warmupRuns: Int, runs: Int,
                status: String, error: String?, timings: Timings?, notes: [String] = []) {
        self.tool = tool
        self.device = device
        self.runtimeName = runtimeName
        self.runtimeVersion = runtimeVersion
        self.artifact = artifact
        self.modelSha256 = modelSha256
        self.backend = backend
        self.computeUnits = computeUnits
        self.warmupRuns = warmupRuns
        self.runs = runs
        self.status = status
        self.error = error
        self.timings = timings
        self.notes = notes
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        self.createdAt = f.string(from: Date())
    }

    public var dictionary: [String: Any] {
        var model: [String: Any] = [
            "file": artifact.path, "sha256": modelSha256, "target": artifact.target, "variant": artifact.variant,
        ]
        if let size = artifact.sizeBytes { model["size_bytes"] = size }
        let ok = status == "ok"
        return [
            "schema": BenchResult.schema,
            "created_at": createdAt,
            "source": ["kind": "device", "tool": tool],
            "device": device.dictionary,
            "runtime": ["name": runtimeName, "version": runtimeVersion],
            "model": model,
            "config": [
                "backend": backend,
                "delegate": NSNull(),
                "compute_units": computeUnits ?? NSNull(),
                "threads": NSNull(),
                "warmup_runs": warmupRuns,
                "runs": runs,
                "inputs": "golden",
            ] as [String: Any],
            "status": status,
            "error": ok ? NSNull() : ((error ?? "unknown error") as Any),
            "results": ok ? (timings?.dictionary ?? [:]) as Any : NSNull(),
            "notes": notes,
        ]
    }

    public func json(pretty: Bool = true) throws -> Data {
        let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return try JSONSerialization.data(withJSONObject: dictionary, options: options)
    }

    /// A file name that is stable for the same device, artifact and configuration.
    public var fileName: String {
        let parts = [device.platform, device.model, artifact.target, artifact.variant, runtimeName, computeUnits ?? backend]
        return parts.map(BenchResult.slug).joined(separator: "-") + ".json"
    }

    static func slug(_ s: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "."))
        let mapped = s.unicodeScalars.map { allowed.contains($0) ? String($0) : "-" }.joined()
        let collapsed = mapped.split(separator: "-").joined(separator: "-").lowercased()
        return collapsed.isEmpty ? "x" : String(collapsed.prefix(40))
    }
}
