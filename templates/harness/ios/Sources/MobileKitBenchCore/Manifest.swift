import Foundation

public enum ManifestError: Error, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "manifest.json: \(why)"
        }
    }
}

/// How a spec tensor appears in one artifact (the manifest's `inputs` / `outputs` entries).
public struct TensorIO {
    public let name: String
    public let tensor: String
    public let layout: String
    public let dtype: String
    public let shape: [Int]
}

/// One artifact of the bundle, as the manifest describes it.
public struct Artifact {
    public let target: String
    public let variant: String
    public let path: String
    public let sha256: String
    public let sizeBytes: Int?
    public let status: String
    public let inputs: [TensorIO]
    public let outputs: [TensorIO]

    public var label: String { "\(target)/\(variant)" }
    public var runnable: Bool { status != "failed" && !path.isEmpty }
}

/// The parts of `manifest.json` (schema mobilekit.manifest/1) a benchmark needs.
public struct BundleManifest {
    public let name: String
    public let version: String
    public let golden: String
    public let artifacts: [Artifact]

    public static func parse(_ data: Data) throws -> BundleManifest {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ManifestError.invalid("not a JSON object")
        }
        guard root["schema"] as? String == "mobilekit.manifest/1" else {
            throw ManifestError.invalid("schema \(root["schema"] ?? "nil") is not mobilekit.manifest/1")
        }
        let artifacts = (root["artifacts"] as? [[String: Any]] ?? []).map { a in
            Artifact(
                target: a["target"] as? String ?? "",
                variant: a["variant"] as? String ?? "",
                path: a["path"] as? String ?? "",
                sha256: a["sha256"] as? String ?? "",
                sizeBytes: (a["size_bytes"] as? NSNumber)?.intValue,
                status: a["status"] as? String ?? "",
                inputs: tensors(a["inputs"]),
                outputs: tensors(a["outputs"])
            )
        }
        return BundleManifest(
            name: root["name"] as? String ?? "",
            version: root["version"] as? String ?? "",
            golden: root["golden"] as? String ?? "assets/golden/",
            artifacts: artifacts
        )
    }

    static func tensors(_ value: Any?) -> [TensorIO] {
        (value as? [[String: Any]] ?? []).map { t in
            TensorIO(
                name: t["name"] as? String ?? "",
                tensor: (t["tensor"] as? String) ?? (t["name"] as? String ?? ""),
                layout: t["layout"] as? String ?? "",
                dtype: t["dtype"] as? String ?? "float32",
                shape: (t["shape"] as? [NSNumber] ?? []).map { $0.intValue }
            )
        }
    }
}

/// The golden inputs: `index.json` and its .npy files (preprocessed NCHW inputs and, for image
/// inputs, the uint8 NHWC RGB pixels they came from).
public struct Golden {
    public let samples: Int
    public let inputs: [String: NpyArray]
    public let pixels: [String: NpyArray]

    public static func load(folder: URL) throws -> Golden {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("index.json")))
        guard let idx = index as? [String: Any], let samples = (idx["samples"] as? NSNumber)?.intValue else {
            throw ManifestError.invalid("golden index.json has no sample count")
        }
        func arrays(_ key: String) throws -> [String: NpyArray] {
            var out: [String: NpyArray] = [:]
            for (name, entry) in idx[key] as? [String: [String: Any]] ?? [:] {
                guard let file = entry["file"] as? String else { continue }
                out[name] = try NpyArray.parse(Data(contentsOf: folder.appendingPathComponent(file)))
            }
            return out
        }
        return Golden(samples: samples, inputs: try arrays("inputs"), pixels: try arrays("pixels"))
    }
}
