import Foundation
import MobileKitCore
import XCTest

/// The package's Fixtures/ folder (Package.swift: `resources: [.copy("Fixtures")]`), written by
/// Fixtures/make_fixtures.py with Hugging Face `tokenizers` and mobilekit's own decoding.
enum Fixtures {
    static func url(_ relative: String) throws -> URL {
        let dir = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "no Fixtures folder in the test bundle")
        return dir.appendingPathComponent(relative)
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: url(relative)))
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: url(relative), encoding: .utf8)
    }

    static func ints(_ value: JSONValue?) throws -> [Int] {
        let array = try XCTUnwrap(value?.array, "not an array")
        return try array.map { try XCTUnwrap($0.int, "not an integer") }
    }
}

/// Golden tokenisations of every family's tokenizer (BPE byte-level and Unigram/Metaspace of
/// Marian, T5, BART, mBART, M2M100; a byte-level BPE with merges; the shipped word-level BPE; a
/// Sequence-built Unigram; a BPE with a continuing-subword prefix; added tokens with lstrip,
/// single_word and normalized matching): ids without specials,
/// source ids as mobilekit/tasks/hf/contract.py encode_source gives them at two lengths, and
/// decoded text with and without the special tokens.
final class HFTokenizerTests: XCTestCase {
    func testEveryFixtureTokenizerMatchesHuggingFaceTokenizers() throws {
        let golden = try Fixtures.json("tokenizer_golden.json")
        let length = try XCTUnwrap(golden["max_source_len"]?.int)
        let short = try XCTUnwrap(golden["short_source_len"]?.int)
        let entries = try XCTUnwrap(golden["tokenizers"]?.array)
        XCTAssertGreaterThanOrEqual(entries.count, 15)
        var checked = 0
        for entry in entries {
            let name = try XCTUnwrap(entry["name"]?.string)
            let tokenizer = try HFTokenizer(contentsOf: Fixtures.url(try XCTUnwrap(entry["file"]?.string)))
            let pad = try XCTUnwrap(entry["special_tokens"]?["pad"]?.int)
            let eos = try XCTUnwrap(entry["special_tokens"]?["eos"]?.int)
            for sample in try XCTUnwrap(entry["cases"]?.array) {
                let text = try XCTUnwrap(sample["text"]?.string)
                let what = "\(name): \(text.debugDescription)"
                let ids = try Fixtures.ints(sample["ids"])
                XCTAssertEqual(tokenizer.encode(text), ids, what)
                let source = try Fixtures.ints(sample["source_ids"])
                XCTAssertEqual(tokenizer.sourceIds(text, length: length, eos: eos, pad: pad), source, what)
                XCTAssertEqual(tokenizer.sourceIds(text, length: short, eos: eos, pad: pad), try Fixtures.ints(sample["short_source_ids"]), what)
                XCTAssertEqual(tokenizer.decode(ids), sample["decoded"]?.string, what)
                XCTAssertEqual(tokenizer.decode(source, skipSpecialTokens: false), sample["decoded_with_specials"]?.string, what)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 14 * 10)
    }

    func testComponentsAreRead() throws {
        let unigram = try HFTokenizer(contentsOf: Fixtures.url("tokenizers/t5_unigram.json"))
        XCTAssertEqual(unigram.summary, "NFKC + Metaspace + Unigram")
        XCTAssertTrue(unigram.hasPostProcessor)
        XCTAssertEqual(unigram.specialTokensToAdd, 1)  // T5: "$A </s>"
        XCTAssertEqual(unigram.specialIds, [0, 1, 2])
        let bart = try HFTokenizer(contentsOf: Fixtures.url("tokenizers/bart_bpe.json"))
        XCTAssertEqual(bart.summary, "Lowercase + ByteLevel + BPE")
        XCTAssertEqual(bart.specialTokensToAdd, 2)  // "<s> $A </s>"
        XCTAssertEqual(bart.postProcess([7]), [0, 7, 2])
        XCTAssertEqual(bart.id(for: "</s>"), 2)
        XCTAssertEqual(bart.token(for: 0), "<s>")
        let shipped = try HFTokenizer(contentsOf: Fixtures.url("tokenizers/shipped_wordlevel.json"))
        XCTAssertFalse(shipped.hasPostProcessor)  // source: tokens, then eos
        XCTAssertEqual(shipped.summary, "Lowercase + Whitespace + BPE")
    }

    /// An unsupported component is refused with its type named, never tokenized approximately.
    func testUnsupportedComponentsAreNamed() throws {
        let t5 = try Fixtures.text("tokenizers/t5_unigram.json")
        let bart = try Fixtures.text("tokenizers/bart_bpe.json")
        let cases: [(String, String, String, String)] = [
            (t5, #""normalizer":{"type":"NFKC"}"#, #""normalizer":{"type":"Precompiled","precompiled_charsmap":"AA=="}"#, "normalizer Precompiled"),
            (t5, #""pre_tokenizer":{"type":"Metaspace""#, #""pre_tokenizer":{"type":"Punctuation""#, "pre-tokenizer Punctuation"),
            (t5, #""decoder":{"type":"Metaspace""#, #""decoder":{"type":"WordPiece""#, "decoder WordPiece"),
            (t5, #""post_processor":{"type":"TemplateProcessing""#, #""post_processor":{"type":"BertProcessing""#, "post-processor BertProcessing"),
            (bart, #""model":{"type":"BPE""#, #""model":{"type":"WordPiece""#, "model WordPiece"),
        ]
        for (file, original, replacement, named) in cases {
            XCTAssertTrue(file.contains(original), original)
            let changed = file.replacingOccurrences(of: original, with: replacement)
            XCTAssertThrowsError(try HFTokenizer(json: Data(changed.utf8)), named) { error in
                XCTAssertEqual((error as? TokenizerError)?.description, "tokenizer.json: \(named) is not supported")
            }
        }
        XCTAssertThrowsError(try HFTokenizer(json: Data("{}".utf8)))
        XCTAssertThrowsError(try HFTokenizer(json: Data("not json".utf8)))
    }

    func testByteLevelAlphabetRoundTrips() throws {
        let bart = try HFTokenizer(contentsOf: Fixtures.url("tokenizers/bytelevel_merges.json"))
        for text in ["the red apple .", "ñandú ☃ 🙂", "a\tb\nc"] {
            XCTAssertEqual(bart.decode(bart.encode(text)), " " + text.lowercased(), text)  // add_prefix_space
        }
    }

    /// A Hugging Face manifest: source ids from the template, decoding ids from decoder_start,
    /// beam widths offered because `beam_search` is stated.
    func testTranslatorReadsTheHuggingFaceManifest() throws {
        let manifest = try BundleManifest.parse(Data(Self.hfManifest.utf8))
        let spec = try XCTUnwrap(manifest.translation)
        XCTAssertTrue(spec.isHuggingFace)
        XCTAssertEqual(spec.specialTokens.decoderStart, 2)
        XCTAssertEqual(spec.specialTokens.modelBos, 0)
        let tokenizer = try HFTokenizer(contentsOf: Fixtures.url("tokenizers/m2m_100_unigram.json"))
        let translator = Translator(tokenizer: tokenizer, spec: spec)
        XCTAssertEqual(translator.contract, DecodingContract(start: 2, eos: 2, forcedBos: 5, forcedEos: nil, maxTargetLen: 12, vocabSize: 61))
        XCTAssertEqual(translator.beamWidths, [1, 2, 3, 4])
        let golden = try Fixtures.json("tokenizer_golden.json")
        let entry = try XCTUnwrap(golden["tokenizers"]?.array?.first { $0["name"]?.string == "m2m_100_unigram" })
        for sample in try XCTUnwrap(entry["cases"]?.array) {
            let text = try XCTUnwrap(sample["text"]?.string)
            XCTAssertEqual(translator.sourceIds(text), try Fixtures.ints(sample["source_ids"]), text)
            // generated ids: the forced language id, the tokens, eos; specials are skipped
            let ids = try Fixtures.ints(sample["ids"])
            XCTAssertEqual(translator.text([5] + ids + [2]), sample["decoded"]?.string, text)
        }
        var shipped = spec
        shipped.decoderStart = nil
        shipped.beamSearch = nil
        let plain = Translator(tokenizer: tokenizer, spec: shipped)
        XCTAssertEqual(plain.beamWidths, [1])
        XCTAssertEqual(plain.contract.start, 2)  // special_tokens.bos
        XCTAssertNil(plain.contract.forcedBos)
    }

    /// The translator bundle (shipped or Hugging Face) through its own tokenizer: the same
    /// source ids and texts as its goldens.
    func testTheTranslatorBundleThroughItsTokenizer() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.translatorVariable)
        let manifest = try GoldenBundle.manifest(dir)
        let spec = try XCTUnwrap(manifest.translation)
        let translator = try Translator(bundle: dir, spec: spec)
        let golden = try TranslationGolden(bundle: dir, manifest: manifest)
        for sample in golden.samples {
            XCTAssertEqual(translator.sourceIds(sample.text), sample.sourceIds, sample.text)
            XCTAssertEqual(translator.text(sample.outputIds), sample.outputText, sample.text)
        }
    }

    static let hfManifest = #"""
    {"schema": "mobilekit.manifest/1", "name": "m2m", "task": "translation",
     "translation": {"tokenizer": "assets/tokenizer.json",
      "special_tokens": {"pad": 1, "bos": 2, "eos": 2, "unk": 3, "decoder_start": 2, "model_bos": 0},
      "vocab_size": 61, "max_source_len": 12, "max_target_len": 12,
      "source_format": "tokens without specials, truncated so the post-processor's specials fit, then the post-processor template; right-padded with pad (1) to max_source_len",
      "decoder_start": {"token": 2, "forced_bos": 5, "forced_eos": null},
      "beam_search": "optional, width k",
      "encoder": {"inputs": [{"name": "source_ids", "shape": [1, 12], "dtype": "int32"}],
                  "outputs": [{"name": "cross_keys", "shape": [1], "dtype": "float32"}]},
      "decoder": {"inputs": [{"name": "token", "shape": [1, 1], "dtype": "int32"}],
                  "outputs": [{"name": "logits", "shape": [1, 61], "dtype": "float32"}]}}}
    """#
}
