import Foundation

public enum TokenizerError: LocalizedError, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)
    /// A component of a type the tokenizer does not implement (e.g. normalizer "Precompiled").
    case unsupported(component: String, type: String)

    public var description: String {
        switch self {
        case .invalid(let why): return "tokenizer.json: \(why)"
        case .unsupported(let component, let type): return "tokenizer.json: \(component) \(type) is not supported"
        }
    }

    public var errorDescription: String? { description }
}

/// The BPE tokenizer of the translation bundles, read from a Hugging Face `tokenizer.json`:
/// Lowercase normalizer, Whitespace pre-tokenizer (`\w+|[^\w\s]+`), BPE with an end-of-word
/// suffix (`</w>`) and an unknown token, no continuing-subword prefix, no byte fallback; the
/// BPEDecoder turns the suffix back into spaces. Special tokens are added by the caller.
// @unchecked: every stored property is an immutable `let`, and NSRegularExpression is
// immutable and documented thread-safe, so one tokenizer may be shared between actors.
public final class BPETokenizer: @unchecked Sendable {
    public let vocab: [String: Int]
    public let idToToken: [Int: String]
    public let suffix: String
    public let unkId: Int?
    public let lowercase: Bool
    /// Ids that `decode` drops (the added tokens marked special: pad, bos, eos, unk).
    public let specialIds: Set<Int>
    private let ranks: [Pair: (rank: Int, id: Int)]
    private let splitter: NSRegularExpression

    struct Pair: Hashable {
        let a: Int
        let b: Int
    }

    public convenience init(contentsOf url: URL) throws {
        try self.init(json: Data(contentsOf: url))
    }

    public init(json: Data) throws {
        let file: TokenizerFile
        do {
            file = try JSONDecoder().decode(TokenizerFile.self, from: json)
        } catch {
            throw TokenizerError.invalid("cannot be read (\(error))")
        }
        let model = file.model
        guard model.type == nil || model.type == "BPE" else { throw TokenizerError.invalid("model is \(model.type!), not BPE") }
        if let prefix = model.continuingSubwordPrefix, !prefix.isEmpty {
            throw TokenizerError.invalid("a continuing-subword prefix is not supported")
        }
        if model.byteFallback == true { throw TokenizerError.invalid("byte fallback is not supported") }
        if let pre = file.preTokenizer?.type, pre != "Whitespace" {
            throw TokenizerError.invalid("pre-tokenizer \(pre) is not supported (expected Whitespace)")
        }
        if let norm = file.normalizer?.type, norm != "Lowercase" {
            throw TokenizerError.invalid("normalizer \(norm) is not supported (expected Lowercase)")
        }
        vocab = model.vocab
        var inverse: [Int: String] = [:]
        for (token, id) in model.vocab { inverse[id] = token }
        idToToken = inverse
        suffix = model.endOfWordSuffix ?? file.decoder?.suffix ?? ""
        unkId = model.unkToken.flatMap { model.vocab[$0] }
        lowercase = file.normalizer?.type == "Lowercase"
        specialIds = Set((file.addedTokens ?? []).filter { $0.special ?? false }.map(\.id))
        var table: [Pair: (rank: Int, id: Int)] = [:]
        for (rank, merge) in model.merges.enumerated() {
            guard let a = model.vocab[merge.0], let b = model.vocab[merge.1], let id = model.vocab[merge.0 + merge.1] else {
                throw TokenizerError.invalid("merge \(rank) (\(merge.0) \(merge.1)) uses tokens missing from the vocabulary")
            }
            if table[Pair(a: a, b: b)] == nil { table[Pair(a: a, b: b)] = (rank, id) }
        }
        ranks = table
        splitter = try NSRegularExpression(pattern: #"\w+|[^\w\s]+"#)
    }

    /// The pre-tokenized words of `text` (after normalization).
    public func words(_ text: String) -> [String] {
        let normalized = lowercase ? text.lowercased() : text
        let range = NSRange(normalized.startIndex..., in: normalized)
        return splitter.matches(in: normalized, range: range).compactMap { m in
            // Sliced by Unicode scalars: a match may end inside a grapheme cluster.
            Range(m.range, in: normalized).map { String(normalized.unicodeScalars[$0]) }
        }
    }

    /// Token ids of `text`, without special tokens.
    public func encode(_ text: String) -> [Int] {
        words(text).flatMap { encodeWord($0) }
    }

    /// Token strings of `text` (for display and debugging).
    public func tokens(_ text: String) -> [String] {
        encode(text).map { idToToken[$0] ?? "<\($0)>" }
    }

    /// One word: its characters (Unicode scalars, the last with the suffix) looked up, unknown
    /// ones as the unknown token, then the lowest-ranked adjacent pair merged until none is left.
    public func encodeWord(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        var symbols: [Int] = []
        for (i, scalar) in scalars.enumerated() {
            let piece = String(scalar) + (i == scalars.count - 1 ? suffix : "")
            if let id = vocab[piece] {
                symbols.append(id)
            } else if let unk = unkId {
                symbols.append(unk)
            }
        }
        while symbols.count > 1 {
            var best: (index: Int, rank: Int, id: Int)?
            for i in 0..<(symbols.count - 1) {
                if let merge = ranks[Pair(a: symbols[i], b: symbols[i + 1])], best == nil || merge.rank < best!.rank {
                    best = (i, merge.rank, merge.id)
                }
            }
            guard let chosen = best else { break }
            // Merge every non-overlapping occurrence of the chosen pair, left to right.
            let pair = Pair(a: symbols[chosen.index], b: symbols[chosen.index + 1])
            var merged: [Int] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i < symbols.count - 1 && symbols[i] == pair.a && symbols[i + 1] == pair.b {
                    merged.append(chosen.id)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }

    /// Text of `ids`: special tokens dropped, token strings concatenated, the suffix read as a
    /// space, the result stripped.
    public func decode(_ ids: [Int]) -> String {
        let text = ids.filter { !specialIds.contains($0) }.compactMap { idToToken[$0] }.joined()
        let spaced = suffix.isEmpty ? text : text.replacingOccurrences(of: suffix, with: " ")
        return spaced.trimmingCharacters(in: .whitespaces)
    }
}

/// The parts of `tokenizer.json` the BPE tokenizer reads.
struct TokenizerFile: Decodable {
    struct Typed: Decodable {
        let type: String?
        let suffix: String?
    }

    struct AddedToken: Decodable {
        let id: Int
        let content: String
        let special: Bool?
    }

    struct Model: Decodable {
        let type: String?
        let vocab: [String: Int]
        let merges: [(String, String)]
        let unkToken: String?
        let endOfWordSuffix: String?
        let continuingSubwordPrefix: String?
        let byteFallback: Bool?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges
            case unkToken = "unk_token"
            case endOfWordSuffix = "end_of_word_suffix"
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case byteFallback = "byte_fallback"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            vocab = try c.decode([String: Int].self, forKey: .vocab)
            unkToken = try c.decodeIfPresent(String.self, forKey: .unkToken)
            endOfWordSuffix = try c.decodeIfPresent(String.self, forKey: .endOfWordSuffix)
            continuingSubwordPrefix = try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix)
            byteFallback = try c.decodeIfPresent(Bool.self, forKey: .byteFallback)
            // tokenizers >= 0.20 writes merges as pairs, older versions as "a b" strings.
            if let pairs = try? c.decode([[String]].self, forKey: .merges) {
                merges = try pairs.map { pair in
                    guard pair.count == 2 else {
                        throw DecodingError.dataCorruptedError(forKey: .merges, in: c, debugDescription: "a merge is not a pair")
                    }
                    return (pair[0], pair[1])
                }
            } else {
                let lines = try c.decodeIfPresent([String].self, forKey: .merges) ?? []
                merges = try lines.map { line in
                    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw DecodingError.dataCorruptedError(forKey: .merges, in: c, debugDescription: "bad merge \(line)")
                    }
                    return (String(parts[0]), String(parts[1]))
                }
            }
        }
    }

    let model: Model
    let normalizer: Typed?
    let preTokenizer: Typed?
    let decoder: Typed?
    let addedTokens: [AddedToken]?

    enum CodingKeys: String, CodingKey {
        case model, normalizer, decoder
        case preTokenizer = "pre_tokenizer"
        case addedTokens = "added_tokens"
    }
}

/// How source ids are laid out: `<bos>? tokens <eos>` padded with `<pad>` to the source length.
public struct SourceFormat: Equatable, Sendable {
    public var addBos: Bool

    public init(addBos: Bool) {
        self.addBos = addBos
    }

    /// Read from the manifest's `source_format` text: a `<bos>` written before the tokens means
    /// the source starts with it (e.g. "<bos> tokens <eos> <pad>..." vs "tokens <eos> <pad>...").
    public init(description: String?) {
        let text = (description ?? "").lowercased()
        if ["no <bos>", "no bos", "without <bos>", "without bos"].contains(where: { text.contains($0) }) {
            addBos = false
            return
        }
        guard let bos = text.range(of: "bos") else {
            addBos = false
            return
        }
        if let tokens = text.range(of: "tok") {
            addBos = bos.lowerBound < tokens.lowerBound
        } else {
            addBos = true
        }
    }

    /// Padded source ids of `tokens`, truncated so `<eos>` always fits.
    public func sourceIds(_ tokens: [Int], special: SpecialTokens, length: Int) -> [Int] {
        let room = max(length - 1 - (addBos ? 1 : 0), 0)
        var ids = addBos ? [special.bos] : []
        ids += tokens.prefix(room)
        ids.append(special.eos)
        ids += [Int](repeating: special.pad, count: max(length - ids.count, 0))
        return Array(ids.prefix(length))
    }
}
