import FactoryJSON

/// The normalizer steps Factory reads from tokenizer.json (Llama 2's layout:
/// Prepend("▁") then Replace(" ", "▁")).
enum NormalizerStep {
    case prepend(String)
    case replace(String, String)

    static func parse(_ json: JSON?) throws -> [NormalizerStep] {
        guard let json, json != .null else { return [] }
        switch json["type"]?.stringValue {
        case "Sequence": return try (json["normalizers"]?.arrayValue ?? []).flatMap { try parse($0) }
        case "Prepend": return [.prepend(json["prepend"]?.stringValue ?? "")]
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.stringValue, let content = json["content"]?.stringValue else {
                throw TokenizerError("normalizer Replace: only string patterns are supported")
            }
            return [.replace(pattern, content)]
        case let other: throw TokenizerError("normalizer \(other ?? "?") is not supported (Prepend, Replace, Sequence)")
        }
    }

    static func apply(_ steps: [NormalizerStep], _ text: String) -> String {
        var s = text
        for step in steps {
            switch step {
            case .prepend(let p): if !s.isEmpty { s = p + s }
            case .replace(let a, let b): s = s.replacingAll(a, with: b)
            }
        }
        return s
    }
}

/// How text is cut into words before BPE.
enum PreTokenization: Equatable {
    enum PrependScheme { case always, first, never }
    /// GPT-2's regex over byte-level characters.
    case byteLevel
    /// A Split regex (Llama 3, Qwen2), then byte-level characters without GPT-2's regex.
    case split(SplitPattern)
    /// SentencePiece's: spaces become "▁", an optional "▁" in front, optionally split before each "▁".
    case metaspace(replacement: String, scheme: PrependScheme, split: Bool)
    /// The whole (normalized) text is one word.
    case none
    /// Split on a literal string, each occurrence kept at the end of the piece before it (Gemma's
    /// Split(" ", merged_with_previous)).
    case splitAfter(String)

    static func parse(_ json: JSON?) throws -> PreTokenization {
        guard let json, json != .null else { return .none }
        switch json["type"]?.stringValue {
        case "ByteLevel": return .byteLevel
        case "Sequence":
            let steps = json["pretokenizers"]?.arrayValue ?? []
            if steps.count == 2, steps[0]["type"]?.stringValue == "Split", steps[1]["type"]?.stringValue == "ByteLevel",
               steps[1]["use_regex"]?.boolValue == false, steps[0]["behavior"]?.stringValue == "Isolated",
               let regex = steps[0]["pattern"]?["Regex"]?.stringValue {
                guard let pattern = SplitPattern(regex: regex) else {
                    throw TokenizerError("pre_tokenizer Split with regex \(regex) is not supported (Llama 3's and Qwen2's are)")
                }
                return .split(pattern)
            }
            throw TokenizerError("this pre_tokenizer Sequence is not supported (Split(regex) + ByteLevel is)")
        case "Metaspace":
            let scheme: PrependScheme
            switch json["prepend_scheme"]?.stringValue ?? (json["add_prefix_space"]?.boolValue == false ? "never" : "always") {
            case "first": scheme = .first
            case "never": scheme = .never
            default: scheme = .always
            }
            return .metaspace(replacement: json["replacement"]?.stringValue ?? "▁", scheme: scheme, split: json["split"]?.boolValue ?? true)
        case "Split" where json["behavior"]?.stringValue == "MergedWithPrevious" && json["invert"]?.boolValue != true:
            guard let literal = json["pattern"]?["String"]?.stringValue, !literal.isEmpty else {
                throw TokenizerError("pre_tokenizer Split is supported with a String pattern and MergedWithPrevious")
            }
            return .splitAfter(literal)
        case let other: throw TokenizerError("pre_tokenizer \(other ?? "?") is not supported (ByteLevel, Metaspace, Split)")
        }
    }

    /// The words of one plain segment; `atStart` says whether it begins the input.
    func words(_ text: String, atStart: Bool) -> [String] {
        switch self {
        case .byteLevel:
            let scalars = Array(text.unicodeScalars)
            return GPT2PreTokenizer.split(scalars).map { ByteLevel.encode(scalars: scalars[$0]) }
        case .split(let pattern):
            let scalars = Array(text.unicodeScalars)
            return pattern.split(scalars).map { ByteLevel.encode(scalars: scalars[$0]) }
        case .none:
            return text.isEmpty ? [] : [text]
        case .splitAfter(let literal):
            var words: [String] = [], rest = Substring(text)
            while let r = rest.firstRange(of: literal) {
                words.append(String(rest[..<r.upperBound]))
                rest = rest[r.upperBound...]
            }
            if !rest.isEmpty { words.append(String(rest)) }
            return words
        case .metaspace(let r, let scheme, let split):
            var s = text.replacingAll(" ", with: r)
            if !s.isEmpty && !s.hasPrefix(r) && (scheme == .always || (scheme == .first && atStart)) { s = r + s }
            guard split else { return s.isEmpty ? [] : [s] }
            var words: [String] = []
            var current = ""
            for ch in s {
                if String(ch) == r && !current.isEmpty {
                    words.append(current)
                    current = ""
                }
                current.append(ch)
            }
            if !current.isEmpty { words.append(current) }
            return words
        }
    }
}

/// The decoder steps Factory reads from tokenizer.json.
enum DecoderStep {
    case byteLevel
    case replace(String, String)
    case byteFallback
    case fuse
    case strip(Character, start: Int, stop: Int)
    case metaspace(replacement: String, prependScheme: PreTokenization.PrependScheme)

    static func parse(_ json: JSON?) throws -> [DecoderStep] {
        guard let json, json != .null else { return [] }
        switch json["type"]?.stringValue {
        case "Sequence": return try (json["decoders"]?.arrayValue ?? []).flatMap { try parse($0) }
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.stringValue, let content = json["content"]?.stringValue else {
                throw TokenizerError("decoder Replace: only string patterns are supported")
            }
            return [.replace(pattern, content)]
        case "Strip":
            let content = json["content"]?.stringValue?.first ?? " "
            return [.strip(content, start: Int(json["start"]?.intValue ?? 0), stop: Int(json["stop"]?.intValue ?? 0))]
        case "Metaspace":
            if case .metaspace(let r, let scheme, _) = try PreTokenization.parse(json) { return [.metaspace(replacement: r, prependScheme: scheme)] }
            return []
        case let other: throw TokenizerError("decoder \(other ?? "?") is not supported")
        }
    }

    /// Runs the chain over token strings, as tokenizers' decode_chain does, and joins the result.
    static func decode(_ steps: [DecoderStep], _ tokens: [String]) -> String {
        var pieces = tokens
        for step in steps {
            switch step {
            case .byteLevel:
                var bytes: [UInt8] = []
                for t in pieces { for c in t { if let b = ByteLevel.charToByte[c] { bytes.append(b) } else { bytes += Array(String(c).utf8) } } }
                pieces = [String(decoding: bytes, as: UTF8.self)]
            case .replace(let a, let b):
                pieces = pieces.map { $0.replacingAll(a, with: b) }
            case .byteFallback:
                var out: [String] = []
                var pending: [UInt8] = []
                func flush() {
                    guard !pending.isEmpty else { return }
                    if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else {
                        out += Array(repeating: "\u{FFFD}", count: pending.count)
                    }
                    pending.removeAll()
                }
                for t in pieces {
                    if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) {
                        pending.append(b)
                    } else {
                        flush()
                        out.append(t)
                    }
                }
                flush()
                pieces = out
            case .fuse:
                pieces = [pieces.joined()]
            case .strip(let c, let start, let stop):
                pieces = pieces.map { t in
                    var s = Substring(t)
                    var n = 0
                    while n < start, s.first == c { s.removeFirst(); n += 1 }
                    n = 0
                    while n < stop, s.last == c { s.removeLast(); n += 1 }
                    return String(s)
                }
            case .metaspace(let r, let scheme):
                pieces = pieces.enumerated().map { i, t in
                    var s = t.replacingAll(r, with: " ")
                    if i == 0 && scheme != .never && s.hasPrefix(" ") { s.removeFirst() }
                    return s
                }
            }
        }
        return pieces.joined()
    }
}

// tokenizer.json's form of each step, for the files written beside a model (HFTokenizerFiles).
extension NormalizerStep {
    var json: JSON {
        switch self {
        case .prepend(let p): return ["type": "Prepend", "prepend": .string(p)]
        case .replace(let a, let b): return ["type": "Replace", "pattern": ["String": .string(a)], "content": .string(b)]
        }
    }

    static func json(_ steps: [NormalizerStep]) -> JSON {
        steps.isEmpty ? .null : steps.count == 1 ? steps[0].json : ["type": "Sequence", "normalizers": .array(steps.map(\.json))]
    }
}

extension PreTokenization {
    var json: JSON {
        switch self {
        case .byteLevel: return ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        case .split(let pattern):
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": .string(pattern.regex)], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]]]
        case .metaspace(let r, let scheme, let split):
            let name = scheme == .first ? "first" : scheme == .never ? "never" : "always"
            return ["type": "Metaspace", "replacement": .string(r), "prepend_scheme": .string(name), "split": .bool(split)]
        case .none: return .null
        case .splitAfter(let literal): return ["type": "Split", "pattern": ["String": .string(literal)], "behavior": "MergedWithPrevious", "invert": false]
        }
    }
}

extension DecoderStep {
    var json: JSON {
        switch self {
        case .byteLevel: return ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        case .replace(let a, let b): return ["type": "Replace", "pattern": ["String": .string(a)], "content": .string(b)]
        case .byteFallback: return ["type": "ByteFallback"]
        case .fuse: return ["type": "Fuse"]
        case .strip(let c, let start, let stop): return ["type": "Strip", "content": .string(String(c)), "start": .int(Int64(start)), "stop": .int(Int64(stop))]
        case .metaspace(let r, let scheme):
            return ["type": "Metaspace", "replacement": .string(r), "prepend_scheme": .string(scheme == .first ? "first" : scheme == .never ? "never" : "always"),
                    "split": true]
        }
    }

    static func json(_ steps: [DecoderStep]) -> JSON {
        steps.isEmpty ? .null : steps.count == 1 ? steps[0].json : ["type": "Sequence", "decoders": .array(steps.map(\.json))]
    }
}
