/// GPT-2's pre-tokenizer regex, as tokenizers' ByteLevel(use_regex: true) applies it:
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// written out as a scanner over Unicode scalars (\s is White_Space, \p{L}
/// letters, \p{N} numbers), returning the pieces in order.
enum GPT2PreTokenizer {
    enum Class { case letter, number, space, other }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> Class {
        if s.value < 128 {
            switch s.value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x20, 0x09...0x0D: return .space
            default: return .other
            }
        }
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The length of the contraction ('s 't 're 've 'm 'll 'd) starting at `i`, apostrophe included, or nil.
    static func contractionLength(_ scalars: [Unicode.Scalar], at i: Int, caseInsensitive: Bool) -> Int? {
        guard scalars[i] == "'" else { return nil }
        for c in contractions where i + 1 + c.count <= scalars.count {
            let candidate = scalars[(i + 1)..<(i + 1 + c.count)]
            if caseInsensitive ? candidate.map(lowered) == c : Array(candidate) == c { return 1 + c.count }
        }
        return nil
    }

    /// ASCII letters lowered.
    static func lowered(_ s: Unicode.Scalar) -> Unicode.Scalar {
        s.value >= 65 && s.value <= 90 ? Unicode.Scalar(s.value + 32)! : s
    }

    /// The pieces of `text`, as ranges of its scalar array.
    static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let n = scalars.count
        let classes = scalars.map(classify)
        var pieces: [Range<Int>] = []
        var i = 0
        while i < n {
            let start = i
            // 's 't 're 've 'm 'll 'd
            if let length = contractionLength(scalars, at: i, caseInsensitive: false) {
                i += length
                pieces.append(start..<i)
                continue
            }
            // optional space, then a run of one class (letters, numbers, or other non-space)
            var j = i
            if scalars[j] == " " && j + 1 < n && classes[j + 1] != .space { j += 1 }
            let kind = classes[j]
            if kind != .space && (j == i || scalars[i] == " ") {
                var k = j
                while k < n && classes[k] == kind { k += 1 }
                i = k
                pieces.append(start..<i)
                continue
            }
            // whitespace: \s+(?!\S) leaves the last space for the next piece, else \s+
            var k = i
            while k < n && classes[k] == .space { k += 1 }
            if k == n || k - i == 1 {
                i = k
            } else {
                i = k - 1
            }
            pieces.append(start..<i)
        }
        return pieces
    }
}
