import Foundation

/// A Hugging Face `tokenizer.json`, run as the `tokenizers` library runs it: added (special)
/// tokens split out of the raw text first, then per remaining piece the normalizer, the
/// pre-tokenizer and the model; the post-processor's template adds the specials of a source;
/// `decode` maps ids back to token strings (specials dropped on request) and runs the decoder.
///
/// Components read (anything else is refused with an error naming its type, never guessed):
/// normalizers Lowercase, NFC, NFD, NFKC, NFKD, Strip, Sequence; pre-tokenizers Whitespace,
/// WhitespaceSplit, Metaspace, ByteLevel, Sequence; models BPE (merges as "a b" strings or
/// pairs, end-of-word suffix, continuing-subword prefix, unknown token, fuse_unk, byte
/// fallback, ignore_merges), Unigram (Viterbi over the log-probabilities, unknown pieces fused)
/// and WordLevel; decoders BPEDecoder, ByteLevel, Metaspace, Sequence; post-processors
/// TemplateProcessing (the single-sequence template), ByteLevel (ids unchanged) and Sequence.
/// A value type of immutable values: Sendable without caveats.
public struct HFTokenizer: Sendable {
    let added: [AddedToken]
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenModel
    let decoder: TokenDecoder?
    let postProcessor: PostProcessor?
    let addedById: [Int: String]
    let specialContents: Set<String>

    /// Ids of the added tokens marked special (what `decode(_:skipSpecialTokens: true)` drops).
    public let specialIds: Set<Int>
    /// The components, as the manifest's `tokenizer_algorithm` names them (e.g. "NFKC + Metaspace + Unigram").
    public let summary: String

    public init(contentsOf url: URL) throws {
        try self.init(json: Data(contentsOf: url))
    }

    public init(json data: Data) throws {
        let doc: JSONValue
        do {
            doc = try JSONValue.parse(data)
        } catch {
            throw TokenizerError.invalid("cannot be read (\(error))")
        }
        guard let modelNode = doc["model"] else { throw TokenizerError.invalid("no model") }
        var added: [AddedToken] = []
        for node in doc["added_tokens"]?.array ?? [] {
            guard let id = node["id"]?.int, let content = node["content"]?.string else {
                throw TokenizerError.invalid("an added token without id or content")
            }
            added.append(AddedToken(
                id: id, content: Array(content.unicodeScalars), text: content, special: node["special"]?.bool ?? false,
                normalized: node["normalized"]?.bool ?? !(node["special"]?.bool ?? false),
                lstrip: node["lstrip"]?.bool ?? false, rstrip: node["rstrip"]?.bool ?? false,
                singleWord: node["single_word"]?.bool ?? false
            ))
        }
        self.added = added
        normalizer = try doc["normalizer"].map(Normalizer.init(json:))
        preTokenizer = try doc["pre_tokenizer"].map(PreTokenizer.init(json:))
        model = try TokenModel(json: modelNode)
        decoder = try doc["decoder"].map(TokenDecoder.init(json:))
        postProcessor = try doc["post_processor"].map(PostProcessor.init(json:))
        var byId: [Int: String] = [:]
        for token in added { byId[token.id] = token.text }
        addedById = byId
        specialContents = Set(added.filter(\.special).map(\.text))
        specialIds = Set(added.filter(\.special).map(\.id))
        summary = [normalizer?.name, preTokenizer?.name, model.name].compactMap { $0 }.joined(separator: " + ")
    }

    // MARK: encoding

    /// Token ids of `text` without the post-processor's special tokens (added tokens written in
    /// the text are still recognised, as `encode(text, add_special_tokens=False)` does).
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for piece in splitAdded(text) {
            switch piece {
            case .added(let id):
                ids.append(id)
            case .text(let words):
                for word in words { ids += model.tokenize(word) }
            }
        }
        return ids
    }

    /// The token strings of `ids` (for display), `#id` where the id is unknown.
    public func tokens(_ ids: [Int]) -> [String] {
        ids.map { token(for: $0) ?? "#\($0)" }
    }

    public func token(for id: Int) -> String? {
        addedById[id] ?? model.token(for: id)
    }

    public func id(for token: String) -> Int? {
        added.first { $0.text == token }?.id ?? model.id(for: token)
    }

    /// True when the file has a post-processor (then it, not a bare `eos`, ends the source).
    public var hasPostProcessor: Bool { postProcessor != nil }

    /// How many ids the post-processor adds to one sequence (`num_special_tokens_to_add(False)`).
    public var specialTokensToAdd: Int { postProcessor?.added ?? 0 }

    /// The post-processor applied to one sequence's ids (`post_process`), unchanged without one.
    public func postProcess(_ ids: [Int]) -> [Int] {
        postProcessor?.apply(ids) ?? ids
    }

    /// Source ids exactly as mobilekit's HfText.encode_source builds them: the tokens (no
    /// specials) truncated so the post-processor's specials fit (or one `eos` when there is no
    /// post-processor), then the template (or `eos`), cut to `length`, right-padded with `pad`.
    public func sourceIds(_ text: String, length: Int, eos: Int, pad: Int) -> [Int] {
        let tokens = encode(text)
        let extra = hasPostProcessor ? specialTokensToAdd : 1
        let kept = Array(tokens.prefix(max(length - extra, 0)))
        var ids = hasPostProcessor ? postProcess(kept) : kept + [eos]
        ids = Array(ids.prefix(max(length, 0)))
        return ids + [Int](repeating: pad, count: max(length - ids.count, 0))
    }

    // MARK: decoding

    /// The text of `ids` as `tokenizer.decode(ids, skip_special_tokens=...)` gives it: unknown
    /// ids dropped, special tokens dropped when asked, the decoder run over the token strings
    /// (tokens joined by spaces when the file has no decoder).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        for id in ids {
            guard let token = addedById[id] ?? model.token(for: id) else { continue }
            if skipSpecialTokens && specialContents.contains(token) { continue }
            tokens.append(token)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }

    // MARK: added tokens

    enum Piece {
        case added(Int)
        case text([String])  // pre-tokenized words
    }

    /// Splits out the added tokens that match the raw text, normalizes each remaining piece,
    /// splits out the normalized added tokens, and pre-tokenizes what is left.
    func splitAdded(_ text: String) -> [Piece] {
        let raw = added.filter { !$0.normalized }
        let normalizedTokens = added.filter { $0.normalized }
        var out: [Piece] = []
        for first in Self.findAdded(Array(text.unicodeScalars), tokens: raw) {
            switch first {
            case .token(let id):
                out.append(.added(id))
            case .rest(let scalars, let start):
                let normalized = normalizer.map { $0.apply(String(String.UnicodeScalarView(scalars))) }
                    ?? String(String.UnicodeScalarView(scalars))
                for second in Self.findAdded(Array(normalized.unicodeScalars), tokens: normalizedTokens) {
                    switch second {
                    case .token(let id):
                        out.append(.added(id))
                    case .rest(let rest, let offset):
                        let piece = Split(scalars: rest, atStart: start == 0 && offset == 0)
                        let words = preTokenizer.map { $0.split([piece]) } ?? (rest.isEmpty ? [] : [piece])
                        out.append(.text(words.filter { !$0.scalars.isEmpty }.map(\.string)))
                    }
                }
            }
        }
        return out
    }

    enum Match {
        case token(Int)
        case rest([Unicode.Scalar], start: Int)
    }

    /// Leftmost-longest matches of the added tokens (their lstrip/rstrip/single_word rules
    /// applied), with the text between them; an empty text gives one empty rest.
    static func findAdded(_ s: [Unicode.Scalar], tokens: [AddedToken]) -> [Match] {
        guard !s.isEmpty else { return [.rest([], start: 0)] }
        guard !tokens.isEmpty else { return [.rest(s, start: 0)] }
        var out: [Match] = []
        var startOffset = 0
        var i = 0
        while i < s.count {
            var best: AddedToken?
            for t in tokens where !t.content.isEmpty && t.content.count > (best?.content.count ?? 0) && i + t.content.count <= s.count {
                if Array(s[i..<(i + t.content.count)]) == t.content { best = t }
            }
            guard let token = best else {
                i += 1
                continue
            }
            var start = i
            var stop = i + token.content.count
            if token.singleWord {
                let startSpace = start == 0 || !isWordScalar(s[start - 1])
                let stopSpace = stop == s.count || !isWordScalar(s[stop])
                if !startSpace || !stopSpace {
                    i = stop  // discarded; the search goes on after it, as find_iter does
                    continue
                }
            }
            if token.lstrip {
                var j = start
                while j > 0 && s[j - 1].properties.isWhitespace { j -= 1 }
                start = max(j, startOffset)
            }
            if token.rstrip {
                while stop < s.count && s[stop].properties.isWhitespace { stop += 1 }
            }
            if startOffset < start { out.append(.rest(Array(s[startOffset..<start]), start: startOffset)) }
            out.append(.token(token.id))
            startOffset = stop
            i += token.content.count  // find_iter resumes at the match's own end
        }
        if startOffset < s.count { out.append(.rest(Array(s[startOffset...]), start: startOffset)) }
        return out
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
    }
}

struct AddedToken: Sendable {
    let id: Int
    let content: [Unicode.Scalar]
    let text: String
    let special: Bool
    let normalized: Bool
    let lstrip: Bool
    let rstrip: Bool
    let singleWord: Bool
}

/// A piece of text between pre-tokenizer steps; `atStart` when it begins the original text
/// (Metaspace's prepend_scheme "first").
struct Split {
    var scalars: [Unicode.Scalar]
    var atStart: Bool

    var string: String { String(String.UnicodeScalarView(scalars)) }
}

func componentType(_ node: JSONValue, _ kind: String) throws -> String {
    guard let type = node["type"]?.string else { throw TokenizerError.invalid("a \(kind) without a type") }
    return type
}

// MARK: normalizers

indirect enum Normalizer: Sendable {
    case lowercase
    case nfc, nfd, nfkc, nfkd
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    init(json: JSONValue) throws {
        let type = try componentType(json, "normalizer")
        switch type {
        case "Lowercase": self = .lowercase
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Strip": self = .strip(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
        case "Sequence":
            self = .sequence(try (json["normalizers"]?.array ?? []).map(Normalizer.init(json:)))
        default: throw TokenizerError.unsupported(component: "normalizer", type: type)
        }
    }

    var name: String {
        switch self {
        case .lowercase: return "Lowercase"
        case .nfc: return "NFC"
        case .nfd: return "NFD"
        case .nfkc: return "NFKC"
        case .nfkd: return "NFKD"
        case .strip: return "Strip"
        case .sequence(let parts): return "Sequence[\(parts.map(\.name).joined(separator: ", "))]"
        }
    }

    func apply(_ s: String) -> String {
        switch self {
        case .lowercase:
            // per character, no context (Rust's char::to_lowercase), as tokenizers does
            var out = String.UnicodeScalarView()
            for c in s.unicodeScalars { out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars) }
            return String(out)
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .strip(let left, let right):
            var scalars = Array(s.unicodeScalars)
            if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
            if left {
                let lead = scalars.prefix { $0.properties.isWhitespace }.count
                scalars.removeFirst(lead)
            }
            return String(String.UnicodeScalarView(scalars))
        case .sequence(let parts):
            return parts.reduce(s) { $1.apply($0) }
        }
    }
}

// MARK: pre-tokenizers

enum PrependScheme: String, Sendable {
    case always, first, never
}

indirect enum PreTokenizer: Sendable {
    /// `\w+|[^\w\s]+`
    case whitespace
    /// split on whitespace, which is dropped
    case whitespaceSplit
    case metaspace(replacement: Unicode.Scalar, scheme: PrependScheme, split: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case sequence([PreTokenizer])

    init(json: JSONValue) throws {
        let type = try componentType(json, "pre-tokenizer")
        switch type {
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Metaspace":
            let replacement = json["replacement"]?.string ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1, let scalar = replacement.unicodeScalars.first else {
                throw TokenizerError.invalid("Metaspace replacement \(replacement) is not one character")
            }
            self = .metaspace(replacement: scalar, scheme: try Self.scheme(json), split: json["split"]?.bool ?? true)
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: json["add_prefix_space"]?.bool ?? true, useRegex: json["use_regex"]?.bool ?? true)
        case "Sequence":
            self = .sequence(try (json["pretokenizers"]?.array ?? []).map(PreTokenizer.init(json:)))
        default: throw TokenizerError.unsupported(component: "pre-tokenizer", type: type)
        }
    }

    /// `prepend_scheme`, or the older `add_prefix_space` flag.
    static func scheme(_ json: JSONValue) throws -> PrependScheme {
        if let text = json["prepend_scheme"]?.string {
            guard let scheme = PrependScheme(rawValue: text) else {
                throw TokenizerError.unsupported(component: "Metaspace prepend_scheme", type: text)
            }
            return scheme
        }
        return (json["add_prefix_space"]?.bool ?? true) ? .always : .never
    }

    var name: String {
        switch self {
        case .whitespace: return "Whitespace"
        case .whitespaceSplit: return "WhitespaceSplit"
        case .metaspace: return "Metaspace"
        case .byteLevel: return "ByteLevel"
        case .sequence(let parts): return "Sequence[\(parts.map(\.name).joined(separator: ", "))]"
        }
    }

    func split(_ pieces: [Split]) -> [Split] {
        switch self {
        case .sequence(let parts):
            return parts.reduce(pieces) { $1.split($0) }
        case .whitespace:
            return pieces.flatMap { Self.runs($0, classify: Self.whitespaceClass) }
        case .whitespaceSplit:
            return pieces.flatMap { Self.runs($0) { $0.properties.isWhitespace ? nil : 0 } }
        case .metaspace(let replacement, let scheme, let split):
            return pieces.flatMap { Self.metaspaceSplit($0, replacement: replacement, scheme: scheme, split: split) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [Split] in
                var p = piece
                if addPrefixSpace && !p.scalars.isEmpty && p.scalars.first != " " { p.scalars.insert(" ", at: 0) }
                let parts = useRegex ? ByteLevelMap.split(p) : [p]
                return parts.map { Split(scalars: ByteLevelMap.encode($0.scalars), atStart: $0.atStart) }
            }
        }
    }

    /// `\w+|[^\w\s]+`: 0 for word characters, 1 for other non-space ones, nil for spaces.
    static func whitespaceClass(_ c: Unicode.Scalar) -> Int? {
        if isWord(c) { return 0 }
        return c.properties.isWhitespace ? nil : 1
    }

    /// Regex `\w` (Unicode): alphabetic, marks, decimal digits, connector punctuation, joiners.
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.properties.isAlphabetic || c.value == 0x200C || c.value == 0x200D { return true }
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Maximal runs of characters of one class (nil: a separator, dropped).
    static func runs(_ piece: Split, classify: (Unicode.Scalar) -> Int?) -> [Split] {
        var out: [Split] = []
        var current: [Unicode.Scalar] = []
        var currentClass: Int?
        var currentStart = 0
        for (i, c) in piece.scalars.enumerated() {
            let k = classify(c)
            if k != currentClass || k == nil {
                if !current.isEmpty { out.append(Split(scalars: current, atStart: piece.atStart && currentStart == 0)) }
                current = []
                currentStart = i
            }
            currentClass = k
            if k != nil { current.append(c) }
        }
        if !current.isEmpty { out.append(Split(scalars: current, atStart: piece.atStart && currentStart == 0)) }
        return out
    }

    static func metaspaceSplit(_ piece: Split, replacement: Unicode.Scalar, scheme: PrependScheme, split: Bool) -> [Split] {
        var s = piece.scalars.map { $0 == " " ? replacement : $0 }
        if !s.isEmpty && s.first != replacement && (scheme == .always || (scheme == .first && piece.atStart)) {
            s.insert(replacement, at: 0)
        }
        guard split else { return s.isEmpty ? [] : [Split(scalars: s, atStart: piece.atStart)] }
        // MergedWithNext: a new piece starts at every replacement character
        var out: [Split] = []
        var current: [Unicode.Scalar] = []
        for c in s {
            if c == replacement && !current.isEmpty {
                out.append(Split(scalars: current, atStart: piece.atStart && out.isEmpty))
                current = []
            }
            current.append(c)
        }
        if !current.isEmpty { out.append(Split(scalars: current, atStart: piece.atStart && out.isEmpty)) }
        return out
    }
}

/// GPT-2's byte-level alphabet: every byte as a printable character, and its split regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` written out.
enum ByteLevelMap {
    static let byteToScalar: [Unicode.Scalar] = {
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    static let scalarToByte: [Unicode.Scalar: UInt8] = {
        var out: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in byteToScalar.enumerated() { out[c] = UInt8(b) }
        return out
    }()

    static func encode(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        String(String.UnicodeScalarView(scalars)).utf8.map { byteToScalar[Int($0)] }
    }

    /// The text of byte-level tokens: each token's characters read as bytes (a token with a
    /// character outside the alphabet is taken as its own UTF-8), invalid UTF-8 as U+FFFD.
    static func decode(_ tokens: [String]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            let mapped = token.unicodeScalars.map { scalarToByte[$0] }
            if mapped.allSatisfy({ $0 != nil }) {
                bytes += mapped.map { $0! }
            } else {
                bytes += Array(token.utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    static func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }

    static func split(_ piece: Split) -> [Split] {
        let s = piece.scalars
        var out: [Split] = []
        var i = 0
        func run(from j: Int, _ test: (Unicode.Scalar) -> Bool) -> Int {
            var k = j
            while k < s.count && test(s[k]) { k += 1 }
            return k
        }
        while i < s.count {
            var end = i + 1
            let c = s[i]
            let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
            let afterNext: Unicode.Scalar? = i + 2 < s.count ? s[i + 2] : nil
            if c == "'", let n = next, ["s", "t", "m", "d"].contains(n) {
                end = i + 2
            } else if c == "'", let n = next, let m = afterNext, (n == "r" && m == "e") || (n == "v" && m == "e") || (n == "l" && m == "l") {
                end = i + 3
            } else if isLetter(c) {
                end = run(from: i, isLetter)
            } else if c == " ", let n = next, isLetter(n) {
                end = run(from: i + 1, isLetter)
            } else if isNumber(c) {
                end = run(from: i, isNumber)
            } else if c == " ", let n = next, isNumber(n) {
                end = run(from: i + 1, isNumber)
            } else if isOther(c) {
                end = run(from: i, isOther)
            } else if c == " ", let n = next, isOther(n) {
                end = run(from: i + 1, isOther)
            } else {
                // \s+(?!\S), else \s+
                let spaces = run(from: i, isSpace)
                if spaces == s.count || spaces - i == 1 {
                    end = spaces
                } else {
                    end = spaces - 1
                }
            }
            out.append(Split(scalars: Array(s[i..<end]), atStart: piece.atStart && i == 0))
            i = end
        }
        return out
    }
}

// MARK: models

/// A `String` compared and hashed by its bytes (Swift's `String` equality is canonical
/// equivalence, `tokenizers` compares bytes: "é" and "e\u{301}" are different pieces).
struct ExactKey: Hashable, Sendable {
    let utf8: [UInt8]

    init(_ s: String) {
        utf8 = Array(s.utf8)
    }

    init(_ scalars: ArraySlice<Unicode.Scalar>) {
        utf8 = Array(String(String.UnicodeScalarView(scalars)).utf8)
    }
}

enum TokenModel: Sendable {
    case bpe(BPEModel)
    case unigram(UnigramModel)
    case wordLevel(vocab: [ExactKey: Int], idToToken: [Int: String], unk: Int?)

    init(json: JSONValue) throws {
        let type = json["type"]?.string ?? (json["merges"] != nil ? "BPE" : "?")
        switch type {
        case "BPE": self = .bpe(try BPEModel(json: json))
        case "Unigram": self = .unigram(try UnigramModel(json: json))
        case "WordLevel":
            guard let vocab = json["vocab"]?.object else { throw TokenizerError.invalid("WordLevel without a vocab") }
            var table: [ExactKey: Int] = [:]
            var inverse: [Int: String] = [:]
            for (token, id) in vocab {
                guard let id = id.int else { throw TokenizerError.invalid("WordLevel vocab entry \(token) is not an id") }
                table[ExactKey(token)] = id
                inverse[id] = token
            }
            self = .wordLevel(vocab: table, idToToken: inverse, unk: json["unk_token"]?.string.flatMap { table[ExactKey($0)] })
        default: throw TokenizerError.unsupported(component: "model", type: type)
        }
    }

    var name: String {
        switch self {
        case .bpe: return "BPE"
        case .unigram: return "Unigram"
        case .wordLevel: return "WordLevel"
        }
    }

    func tokenize(_ word: String) -> [Int] {
        switch self {
        case .bpe(let m): return m.tokenize(word)
        case .unigram(let m): return m.tokenize(word)
        case .wordLevel(let vocab, _, let unk):
            if let id = vocab[ExactKey(word)] { return [id] }
            return unk.map { [$0] } ?? []
        }
    }

    func token(for id: Int) -> String? {
        switch self {
        case .bpe(let m): return m.idToToken[id]
        case .unigram(let m): return id >= 0 && id < m.pieces.count ? m.pieces[id] : nil
        case .wordLevel(_, let inverse, _): return inverse[id]
        }
    }

    func id(for token: String) -> Int? {
        switch self {
        case .bpe(let m): return m.vocab[ExactKey(token)]
        case .unigram(let m): return m.ids[ExactKey(token)]
        case .wordLevel(let vocab, _, _): return vocab[ExactKey(token)]
        }
    }
}

/// tokenizers' BPE model: a word's characters (the first plain, the others with the
/// continuing-subword prefix, the last with the end-of-word suffix) looked up, unknown ones as
/// the unknown token (runs fused with fuse_unk) or their `<0xAB>` bytes (byte_fallback), then
/// merged as `Word::merge_all` does: always the lowest-ranked merge, leftmost first.
struct BPEModel: Sendable {
    struct Pair: Hashable, Sendable {
        let a: Int
        let b: Int
    }

    let vocab: [ExactKey: Int]
    let idToToken: [Int: String]
    let merges: [Pair: (rank: Int, id: Int)]
    let unkId: Int?
    let prefix: String?
    let suffix: String?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool

    init(json: JSONValue) throws {
        guard let vocabNode = json["vocab"]?.object else { throw TokenizerError.invalid("BPE without a vocab") }
        if let dropout = json["dropout"]?.double, dropout > 0 {
            throw TokenizerError.unsupported(component: "BPE option", type: "dropout")
        }
        var table: [ExactKey: Int] = [:]
        var inverse: [Int: String] = [:]
        for (token, id) in vocabNode {
            guard let id = id.int else { throw TokenizerError.invalid("BPE vocab entry \(token) is not an id") }
            table[ExactKey(token)] = id
            inverse[id] = token
        }
        vocab = table
        idToToken = inverse
        prefix = json["continuing_subword_prefix"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        suffix = json["end_of_word_suffix"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        fuseUnk = json["fuse_unk"]?.bool ?? false
        byteFallback = json["byte_fallback"]?.bool ?? false
        ignoreMerges = json["ignore_merges"]?.bool ?? false
        if let unk = json["unk_token"]?.string {
            guard let id = table[ExactKey(unk)] else { throw TokenizerError.invalid("the unknown token \(unk) is not in the vocabulary") }
            unkId = id
        } else {
            unkId = nil
        }
        // tokenizers >= 0.20 writes merges as pairs, older versions as "a b" strings
        var pairs: [(String, String)] = []
        for (rank, node) in (json["merges"]?.array ?? []).enumerated() {
            if let parts = node.array {
                guard parts.count == 2, let a = parts[0].string, let b = parts[1].string else {
                    throw TokenizerError.invalid("merge \(rank) is not a pair")
                }
                pairs.append((a, b))
            } else if let line = node.string {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.invalid("bad merge \(line)") }
                pairs.append((String(parts[0]), String(parts[1])))
            } else {
                throw TokenizerError.invalid("merge \(rank) is neither a pair nor a string")
            }
        }
        let prefixBytes = prefix?.utf8.count ?? 0
        var map: [Pair: (rank: Int, id: Int)] = [:]
        for (rank, (a, b)) in pairs.enumerated() {
            // the merged token: a + b without the prefix's bytes (`&b[prefix_len..]`)
            let bBytes = Array(b.utf8)
            let merged = ExactKey(a + String(decoding: bBytes.dropFirst(min(prefixBytes, bBytes.count)), as: UTF8.self))
            guard let ia = table[ExactKey(a)], let ib = table[ExactKey(b)], let id = table[merged] else {
                throw TokenizerError.invalid("merge \(rank) (\(a) \(b)) uses tokens missing from the vocabulary")
            }
            map[Pair(a: ia, b: ib)] = (rank, id)
        }
        merges = map
    }

    func tokenize(_ word: String) -> [Int] {
        if ignoreMerges, let id = vocab[ExactKey(word)] { return [id] }
        let scalars = Array(word.unicodeScalars)
        var symbols: [Int] = []
        var unk: Int?  // a pending (fused) unknown token
        for (i, scalar) in scalars.enumerated() {
            var piece = String(scalar)
            if i > 0, let prefix { piece = prefix + piece }
            if i == scalars.count - 1, let suffix { piece += suffix }
            if let id = vocab[ExactKey(piece)] {
                if let pending = unk {
                    symbols.append(pending)
                    unk = nil
                }
                symbols.append(id)
                continue
            }
            if byteFallback {
                // the bytes of the piece as written (prefix/suffix included); a pending unknown
                // token is not flushed first (as tokenizers' merge_word does)
                let bytes = piece.utf8.map { vocab[ExactKey(String(format: "<0x%02X>", UInt32($0)))] }
                if bytes.allSatisfy({ $0 != nil }) {
                    symbols += bytes.map { $0! }
                    continue
                }
            }
            if let unkId {
                if let pending = unk, !fuseUnk { symbols.append(pending) }
                unk = unkId
            }
        }
        if let pending = unk { symbols.append(pending) }
        return merge(symbols)
    }

    /// Word::merge_all: a queue of (rank, position) merges, the lowest rank (then the leftmost
    /// position) applied first; stale entries (their pair has changed) skipped.
    func merge(_ ids: [Int]) -> [Int] {
        guard ids.count > 1 else { return ids }
        var c = ids
        var alive = [Bool](repeating: true, count: ids.count)
        var prev = Array(-1..<(ids.count - 1))
        var next = Array(1...ids.count)
        next[ids.count - 1] = -1
        var queue = MergeQueue()
        for i in 0..<(ids.count - 1) {
            if let m = merges[Pair(a: c[i], b: c[i + 1])] { queue.push(MergeQueue.Entry(rank: m.rank, pos: i, id: m.id)) }
        }
        while let top = queue.pop() {
            guard alive[top.pos], next[top.pos] != -1 else { continue }
            let right = next[top.pos]
            guard let m = merges[Pair(a: c[top.pos], b: c[right])], m.id == top.id else { continue }
            c[top.pos] = top.id
            alive[right] = false
            next[top.pos] = next[right]
            if next[right] != -1 { prev[next[right]] = top.pos }
            if prev[top.pos] >= 0, let m = merges[Pair(a: c[prev[top.pos]], b: c[top.pos])] {
                queue.push(MergeQueue.Entry(rank: m.rank, pos: prev[top.pos], id: m.id))
            }
            if next[top.pos] != -1, let m = merges[Pair(a: c[top.pos], b: c[next[top.pos]])] {
                queue.push(MergeQueue.Entry(rank: m.rank, pos: top.pos, id: m.id))
            }
        }
        return c.indices.filter { alive[$0] }.map { c[$0] }
    }
}

/// A binary min-heap of merges by (rank, position).
struct MergeQueue {
    struct Entry {
        let rank: Int
        let pos: Int
        let id: Int

        func before(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : pos < other.pos
        }
    }

    private var heap: [Entry] = []

    mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].before(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < heap.count && heap[l].before(heap[m]) { m = l }
                if r < heap.count && heap[r].before(heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// tokenizers' Unigram model (its optimized Viterbi): at each character, every vocabulary
/// piece starting there extends the best path ending there (log-probabilities add; a later
/// candidate must be strictly better); a character no one-character piece covers is the
/// unknown token, scored min_score - 10; the best path is read back, unknown runs fused.
struct UnigramModel: Sendable {
    let pieces: [String]
    let scores: [Double]
    let ids: [ExactKey: Int]
    let unkId: Int
    let fuseUnk: Bool
    let maxPieceLength: Int
    let unkScore: Double

    init(json: JSONValue) throws {
        guard let vocab = json["vocab"]?.array else { throw TokenizerError.invalid("Unigram without a vocab") }
        if json["byte_fallback"]?.bool == true {
            throw TokenizerError.unsupported(component: "Unigram option", type: "byte_fallback")
        }
        var pieces: [String] = []
        var scores: [Double] = []
        var ids: [ExactKey: Int] = [:]
        var longest = 1
        var minScore = Double.greatestFiniteMagnitude
        for (i, entry) in vocab.enumerated() {
            guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].double else {
                throw TokenizerError.invalid("Unigram vocab entry \(i) is not [piece, score]")
            }
            pieces.append(piece)
            scores.append(score)
            ids[ExactKey(piece)] = i
            longest = max(longest, piece.unicodeScalars.count)
            minScore = min(minScore, score)
        }
        guard let unk = json["unk_id"]?.int, unk >= 0, unk < pieces.count else {
            throw TokenizerError.invalid("a Unigram model without a valid unk_id is not supported")
        }
        self.pieces = pieces
        self.scores = scores
        self.ids = ids
        unkId = unk
        fuseUnk = json["fuse_unk"]?.bool ?? true
        maxPieceLength = longest
        unkScore = (pieces.isEmpty ? 0 : minScore) - 10.0
    }

    func tokenize(_ word: String) -> [Int] {
        let s = Array(word.unicodeScalars)
        guard !s.isEmpty else { return [] }
        // best path ending at each position: (score, start, id)
        var best = [(score: Double, start: Int, id: Int)?](repeating: nil, count: s.count + 1)
        best[0] = (0, 0, -1)
        for start in 0..<s.count {
            let here = best[start]?.score ?? 0
            var hasSingle = false
            for length in 1...min(maxPieceLength, s.count - start) {
                guard let id = ids[ExactKey(s[start..<(start + length)])] else { continue }
                let candidate = scores[id] + here
                if best[start + length] == nil || candidate > best[start + length]!.score {
                    best[start + length] = (candidate, start, id)
                }
                if length == 1 { hasSingle = true }
            }
            if !hasSingle {
                let candidate = unkScore + here
                if best[start + 1] == nil || candidate > best[start + 1]!.score {
                    best[start + 1] = (candidate, start, unkId)
                }
            }
        }
        var pieces: [(start: Int, end: Int, id: Int)] = []
        var end = s.count
        while end > 0 {
            let node = best[end]!
            pieces.append((node.start, end, node.id))
            end = node.start
        }
        pieces.reverse()
        var out: [Int] = []
        var i = 0
        while i < pieces.count {
            var j = i
            if fuseUnk && pieces[i].id == unkId {
                while j + 1 < pieces.count && pieces[j + 1].id == unkId { j += 1 }
            }
            let text = s[pieces[i].start..<pieces[j].end]
            out.append(ids[ExactKey(text)] ?? unkId)
            i = j + 1
        }
        return out
    }
}

// MARK: decoders

indirect enum TokenDecoder: Sendable {
    case bpe(suffix: String)
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, scheme: PrependScheme)
    case sequence([TokenDecoder])

    init(json: JSONValue) throws {
        let type = try componentType(json, "decoder")
        switch type {
        case "BPEDecoder": self = .bpe(suffix: json["suffix"]?.string ?? "</w>")
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let replacement = json["replacement"]?.string ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1, let scalar = replacement.unicodeScalars.first else {
                throw TokenizerError.invalid("Metaspace replacement \(replacement) is not one character")
            }
            self = .metaspace(replacement: scalar, scheme: try PreTokenizer.scheme(json))
        case "Sequence":
            self = .sequence(try (json["decoders"]?.array ?? []).map(TokenDecoder.init(json:)))
        default: throw TokenizerError.unsupported(component: "decoder", type: type)
        }
    }

    /// `decode_chain`: token strings in, token strings out (the caller joins them).
    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .bpe(let suffix):
            return tokens.enumerated().map { i, t in
                t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ", options: .literal)
            }
        case .byteLevel:
            return [ByteLevelMap.decode(tokens)]
        case .metaspace(let replacement, let scheme):
            // the first token loses every replacement character (unless the scheme is "never"),
            // the others read them as spaces
            return tokens.enumerated().map { i, t in
                var out = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == replacement {
                        if i == 0 && scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(c)
                    }
                }
                return String(out)
            }
        case .sequence(let parts):
            return parts.reduce(tokens) { $1.decode($0) }
        }
    }
}

// MARK: post-processors

indirect enum PostProcessor: Sendable {
    /// The single-sequence template: fixed ids before and after the sequence.
    case template(before: [Int], after: [Int])
    /// ByteLevel's post-processor only trims offsets: ids unchanged.
    case identity
    case sequence([PostProcessor])

    init(json: JSONValue) throws {
        let type = try componentType(json, "post-processor")
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.array else { throw TokenizerError.invalid("TemplateProcessing without a single template") }
            let specials = json["special_tokens"]?.object ?? [:]
            var before: [Int] = []
            var after: [Int] = []
            var seenSequence = false
            for piece in single {
                if let special = piece["SpecialToken"] {
                    guard let name = special["id"]?.string, let ids = specials[name]?["ids"]?.array?.compactMap(\.int) else {
                        throw TokenizerError.invalid("TemplateProcessing names a special token it does not define")
                    }
                    if seenSequence { after += ids } else { before += ids }
                } else if let sequence = piece["Sequence"] {
                    guard sequence["id"]?.string == "A", !seenSequence else {
                        throw TokenizerError.invalid("the single template is not one sequence A")
                    }
                    seenSequence = true
                } else {
                    throw TokenizerError.invalid("TemplateProcessing piece is neither SpecialToken nor Sequence")
                }
            }
            guard seenSequence else { throw TokenizerError.invalid("the single template has no sequence") }
            self = .template(before: before, after: after)
        case "ByteLevel": self = .identity
        case "Sequence":
            self = .sequence(try (json["processors"]?.array ?? []).map(PostProcessor.init(json:)))
        default: throw TokenizerError.unsupported(component: "post-processor", type: type)
        }
    }

    var added: Int {
        switch self {
        case .template(let before, let after): return before.count + after.count
        case .identity: return 0
        case .sequence(let parts): return parts.reduce(0) { $0 + $1.added }
        }
    }

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let before, let after): return before + ids + after
        case .identity: return ids
        case .sequence(let parts): return parts.reduce(ids) { $1.apply($0) }
        }
    }
}
