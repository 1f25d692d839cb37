import Foundation
import MobileKitCore
import XCTest

/// Real bundles for the golden-vector tests, from environment variables (absolute paths):
///   MOBILEKIT_DIGITS_BUNDLE=/path/to/dist/digits
///   MOBILEKIT_TRANSLATOR_BUNDLE=/path/to/dist/translator
/// (the translator may also be a Hugging Face translation bundle: the bundle-tokenizer and greedy
/// checks read its tokenizer.json and decoder_start). A test that needs one is skipped when its
/// variable is unset.
enum GoldenBundle {
    static let digitsVariable = "MOBILEKIT_DIGITS_BUNDLE"
    static let translatorVariable = "MOBILEKIT_TRANSLATOR_BUNDLE"

    static func directory(_ variable: String) throws -> URL {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty else {
            throw XCTSkip("set \(variable) to a bundle folder to run the golden-vector tests")
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    static func manifest(_ dir: URL) throws -> BundleManifest {
        try BundleManifest.load(dir.appendingPathComponent("manifest.json"))
    }

    static func json(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try XCTUnwrap(object as? [String: Any], "\(url.lastPathComponent) is not a JSON object")
    }
}

/// The translation golden samples (`assets/golden/translation.json`).
struct TranslationGolden {
    struct Sample {
        let text: String
        let sourceIds: [Int]
        let outputIds: [Int]
        let outputText: String
        let stepLogits: URL
    }

    let samples: [Sample]

    init(bundle dir: URL, manifest: BundleManifest) throws {
        let goldenDir = dir.appendingPathComponent(manifest.golden ?? "assets/golden/")
        let root = try GoldenBundle.json(goldenDir.appendingPathComponent("translation.json"))
        let raw = try XCTUnwrap(root["samples"] as? [[String: Any]], "translation.json has no samples")
        samples = try raw.map { s in
            Sample(
                text: try XCTUnwrap(s["text"] as? String),
                sourceIds: try XCTUnwrap(s["source_ids"] as? [Int]),
                outputIds: try XCTUnwrap(s["output_ids"] as? [Int]),
                outputText: try XCTUnwrap(s["output_text"] as? String),
                stepLogits: goldenDir.appendingPathComponent(try XCTUnwrap(s["step_logits"] as? String))
            )
        }
    }
}
