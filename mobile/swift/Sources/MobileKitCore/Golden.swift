import Foundation

/// The benchmark harness's golden inputs: `index.json` and its .npy files (preprocessed NCHW inputs and, for image
/// inputs, the uint8 NHWC RGB pixels they came from).
public struct Golden: Sendable {
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
