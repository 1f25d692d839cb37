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

public enum GoldenError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "golden data: \(why)"
        }
    }
}

/// One golden sentence of a translation bundle (`translation.json`): the padded source ids the
/// export fed and the ids the source model generated (after `<bos>`, ending with `<eos>`).
public struct GoldenSentence: Equatable, Sendable {
    public let text: String
    public let sourceIds: [Int]
    public let outputIds: [Int]

    public init(text: String, sourceIds: [Int], outputIds: [Int]) {
        self.text = text
        self.sourceIds = sourceIds
        self.outputIds = outputIds
    }

    /// The golden sentences of a `translation.json` file.
    public static func parse(_ data: Data) throws -> [GoldenSentence] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let samples = root["samples"] as? [[String: Any]], !samples.isEmpty else {
            throw GoldenError.invalid("translation.json has no samples")
        }
        return try samples.enumerated().map { i, s in
            guard let ids = s["source_ids"] as? [Int], let out = s["output_ids"] as? [Int] else {
                throw GoldenError.invalid("translation.json samples[\(i)] has no source_ids or output_ids")
            }
            return GoldenSentence(text: s["text"] as? String ?? "", sourceIds: ids, outputIds: out)
        }
    }

    public static func load(_ url: URL) throws -> [GoldenSentence] {
        try parse(Data(contentsOf: url))
    }
}
