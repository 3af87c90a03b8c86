/// The Split pre-tokenizer regexes of Llama 3 and Qwen2 (tokenizer.json: Sequence[Split(regex,
/// Isolated), ByteLevel(use_regex: false)]), written out as scanners like GPT-2's:
///   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// Qwen2's differs only in taking one digit at a time (\p{N} instead of \p{N}{1,3}).
enum SplitPattern: Equatable {
    case llama3
    case qwen2

    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init?(regex: String) {
        switch regex {
        case SplitPattern.llama3Regex: self = .llama3
        case SplitPattern.qwen2Regex: self = .qwen2
        default: return nil
        }
    }

    var regex: String { self == .llama3 ? SplitPattern.llama3Regex : SplitPattern.qwen2Regex }

    var digitGroup: Int { self == .llama3 ? 3 : 1 }

    /// The split transformers 5 puts before a GGUF byte-level vocabulary, by `tokenizer.ggml.pre`
    /// (integrations/gguf/gguf_tokenizer_mapping.py): nil for none (GPT-2's regex); an error for a
    /// split Factory does not implement.
    static func forGGUF(pre: String?) throws -> SplitPattern? {
        switch pre {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe":
            return .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez": return .qwen2
        case let p? where ["tekken", "qwen35", "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"].contains(p):
            throw TokenizerError("tokenizer.ggml.pre '\(p)' splits text with a regex Factory does not implement (it reads Llama 3's and Qwen2's)")
        default: return nil
        }
    }

    @inline(__always) static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// The pieces of `scalars`, as ranges.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let n = scalars.count
        let classes = scalars.map(GPT2PreTokenizer.classify)
        var pieces: [Range<Int>] = []
        var i = 0
        while i < n {
            let start = i
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if let length = GPT2PreTokenizer.contractionLength(scalars, at: i, caseInsensitive: true) {
                i += length
                pieces.append(start..<i)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            var j = i
            if classes[j] != .letter && classes[j] != .number && !SplitPattern.isNewline(scalars[j]) && j + 1 < n && classes[j + 1] == .letter { j += 1 }
            if classes[j] == .letter {
                var k = j
                while k < n && classes[k] == .letter { k += 1 }
                i = k
                pieces.append(start..<i)
                continue
            }
            // \p{N}{1,digitGroup}
            if classes[i] == .number {
                var k = i
                while k < n && classes[k] == .number && k - i < digitGroup { k += 1 }
                i = k
                pieces.append(start..<i)
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            j = i
            if scalars[j] == " " && j + 1 < n && classes[j + 1] == .other { j += 1 }
            if classes[j] == .other {
                var k = j
                while k < n && classes[k] == .other { k += 1 }
                while k < n && SplitPattern.isNewline(scalars[k]) { k += 1 }
                i = k
                pieces.append(start..<i)
                continue
            }
            // whitespace: \s*[\r\n]+ , then \s+(?!\S), then \s+
            var k = i
            while k < n && classes[k] == .space { k += 1 }
            if let lastNewline = (i..<k).last(where: { SplitPattern.isNewline(scalars[$0]) }) {
                i = lastNewline + 1
            } else if k == n || k - i == 1 {
                i = k
            } else {
                i = k - 1
            }
            pieces.append(start..<i)
        }
        return pieces
    }
}

