import Foundation
import MobileKitCore
import XCTest

final class TokenizerTests: XCTestCase {
    /// Trained with Hugging Face tokenizers (BpeTrainer, vocab 48, the contract's settings) on
    /// three short sentences; the expected ids below are what tokenizers itself returns.
    static let tokenizerJSON = #"""
    {"version":"1.0","truncation":null,"padding":null,"added_tokens":[{"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":1,"content":"<bos>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":2,"content":"<eos>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":3,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":{"type":"BPEDecoder","suffix":"</w>"},"model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":"</w>","fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{"<pad>":0,"<bos>":1,"<eos>":2,"<unk>":3,"!":4,",":5,".":6,"a":7,"c":8,"e":9,"h":10,"m":11,"n":12,"o":13,"s":14,"t":15,"t</w>":16,",</w>":17,"!</w>":18,".</w>":19,"a</w>":20,"n</w>":21,"e</w>":22,"at</w>":23,"he</w>":24,"the</w>":25,"cat</w>":26,"mat</w>":27,"hat</w>":28,"on</w>":29,"sat</w>":30},"merges":[["a","t</w>"],["h","e</w>"],["t","he</w>"],["c","at</w>"],["m","at</w>"],["h","at</w>"],["o","n</w>"],["s","at</w>"]]}}
    """#

    func tokenizer(_ json: String = tokenizerJSON) throws -> BPETokenizer {
        try BPETokenizer(json: Data(json.utf8))
    }

    func testEncodesLikeHuggingFaceTokenizers() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("The cat sat on THE hat!"), [25, 26, 30, 29, 25, 28, 18])
        XCTAssertEqual(t.encode("a zebra... at that"), [20, 3, 9, 3, 3, 20, 6, 6, 19, 23, 15, 28])
        XCTAssertEqual(t.encode("catcat"), [8, 7, 15, 26])
        XCTAssertEqual(t.tokens("on"), ["on</w>"])
    }

    func testDecodesLikeTheBPEDecoder() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.decode([25, 26, 30, 29, 25, 28, 18]), "the cat sat on the hat !")
        XCTAssertEqual(t.decode([1, 20, 3, 9, 3, 3, 20, 6, 6, 19, 23, 15, 28, 2]), "a ea ... at that")  // specials dropped
        XCTAssertEqual(t.decode([8, 7, 15, 26]), "catcat")
    }

    func testOlderStringMergesReadTheSame() throws {
        let old = Self.tokenizerJSON
            .replacingOccurrences(of: #"["a","t</w>"]"#, with: #""a t</w>""#)
            .replacingOccurrences(of: #"["h","e</w>"]"#, with: #""h e</w>""#)
            .replacingOccurrences(of: #"["t","he</w>"]"#, with: #""t he</w>""#)
            .replacingOccurrences(of: #"["c","at</w>"]"#, with: #""c at</w>""#)
            .replacingOccurrences(of: #"["m","at</w>"]"#, with: #""m at</w>""#)
            .replacingOccurrences(of: #"["h","at</w>"]"#, with: #""h at</w>""#)
            .replacingOccurrences(of: #"["o","n</w>"]"#, with: #""o n</w>""#)
            .replacingOccurrences(of: #"["s","at</w>"]"#, with: #""s at</w>""#)
        XCTAssertEqual(try tokenizer(old).encode("The cat sat on THE hat!"), [25, 26, 30, 29, 25, 28, 18])
    }

    func testUnsupportedSettingsAreRefused() {
        let prefixed = Self.tokenizerJSON.replacingOccurrences(of: #""continuing_subword_prefix":null"#,
                                                               with: #""continuing_subword_prefix":"@@""#)
        XCTAssertThrowsError(try tokenizer(prefixed))
        let byteLevel = Self.tokenizerJSON.replacingOccurrences(of: #"{"type":"Whitespace"}"#, with: #"{"type":"ByteLevel"}"#)
        XCTAssertThrowsError(try tokenizer(byteLevel))
    }

    func testSourceLayout() {
        let special = SpecialTokens()
        let withBos = SourceFormat(description: "<bos> tokens <eos> then <pad> to max_source_len")
        XCTAssertTrue(withBos.addBos)
        XCTAssertEqual(withBos.sourceIds([7, 8], special: special, length: 6), [1, 7, 8, 2, 0, 0])
        XCTAssertEqual(withBos.sourceIds([7, 8, 9, 10, 11, 12], special: special, length: 4), [1, 7, 8, 2])
        let mobilekit = "lowercase + BPE tokens, then <eos>; truncated to max_source_len-1 tokens before <eos>; "
            + "right-padded with <pad> to max_source_len; no <bos>"
        XCTAssertFalse(SourceFormat(description: mobilekit).addBos)
        XCTAssertTrue(SourceFormat(description: nil).addBos == false)
        let noBos = SourceFormat(description: "tokens <eos> <pad>...")
        XCTAssertFalse(noBos.addBos)
        XCTAssertEqual(noBos.sourceIds([7, 8], special: special, length: 4), [7, 8, 2, 0])
    }

    /// The bundle's tokenizer gives the golden source ids and decodes the golden outputs.
    func testGoldenSamplesRoundTrip() throws {
        let dir = try GoldenBundle.directory(GoldenBundle.translatorVariable)
        let manifest = try GoldenBundle.manifest(dir)
        let spec = try XCTUnwrap(manifest.translation)
        if spec.isHuggingFace { throw XCTSkip("a Hugging Face bundle: HFTokenizerTests checks its tokenizer") }
        let tokenizer = try BPETokenizer(contentsOf: dir.appendingPathComponent(spec.tokenizer))
        let pipeline = TranslationPipeline(tokenizer: tokenizer, spec: spec)
        let golden = try TranslationGolden(bundle: dir, manifest: manifest)
        XCTAssertFalse(golden.samples.isEmpty)
        for sample in golden.samples {
            XCTAssertEqual(pipeline.sourceIds(sample.text), sample.sourceIds, sample.text)
            XCTAssertEqual(tokenizer.decode(sample.outputIds), sample.outputText, sample.text)
        }
    }
}
