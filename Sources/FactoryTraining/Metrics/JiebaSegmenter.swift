import Foundation

// jieba.cut(text) in its default mode (accurate, HMM on), as LLaMA-Factory segments predictions and labels
// before ROUGE: the text splits into runs of Han characters, ASCII letters and digits and +#&._%- (the
// rest goes out one character at a time, each whitespace — or \r\n — as a word of its own); each run is
// cut along the most probable path through the dictionary's words; a stretch of single characters that
// is no word goes to the hidden Markov model (Viterbi over B/M/E/S), letters and numbers kept whole.

/// Segments text into words with jieba's dictionary and model, matching jieba 0.42's `cut` word for word.
public struct JiebaSegmenter: Sendable {
    public let dictionary: JiebaDictionary
    private let logTotal: Double

    public init(dictionary: JiebaDictionary) {
        self.dictionary = dictionary
        logTotal = Foundation.log(Double(dictionary.total))
    }

    /// jieba.cut(text): the words, in order; joined they give the text back.
    public func cut(_ text: String) -> [String] {
        var words: [String] = []
        let scalars = Array(text.unicodeScalars)
        for (run, inBlock) in Self.runs(scalars, Self.isBlockCharacter) {
            if inBlock {
                cutBlock(scalars[run], into: &words)
            } else {
                var j = run.lowerBound  // re_skip: \r\n or one whitespace character; else one character at a time
                let end = run.upperBound
                while j < end {
                    if scalars[j] == "\r", j + 1 < end, scalars[j + 1] == "\n" {
                        words.append("\r\n")
                        j += 2
                    } else {
                        words.append(String(scalars[j]))
                        j += 1
                    }
                }
            }
        }
        return words
    }

    /// The maximal runs of `s` over which `test` gives the same answer, with that answer (re.split by a class).
    static func runs(_ s: [Unicode.Scalar], _ test: (Unicode.Scalar) -> Bool) -> [(Range<Int>, Bool)] {
        var result: [(Range<Int>, Bool)] = []
        var i = 0
        while i < s.count {
            let value = test(s[i])
            var end = i + 1
            while end < s.count, test(s[end]) == value { end += 1 }
            result.append((i..<end, value))
            i = end
        }
        return result
    }

    /// re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&._%-].
    static func isBlockCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FD5, 0x61...0x7A, 0x41...0x5A, 0x30...0x39: return true
        default: return "+#&._%-".unicodeScalars.contains(c)
        }
    }

    /// __cut_DAG: the best path through the dictionary; runs of single characters that form no word go to the model.
    private func cutBlock(_ block: ArraySlice<Unicode.Scalar>, into words: inout [String]) {
        let sentence = Array(block), n = sentence.count
        // route[k]: the best (log-probability, end) from k; ties go to the larger end, as Python's max of tuples
        var route = [(Double, Int)](repeating: (0, 0), count: n + 1)
        for k in stride(from: n - 1, through: 0, by: -1) {
            var best: (Double, Int)? = nil
            var node = 0, i = k
            while i < n, let next = dictionary.child(node, sentence[i]) {
                node = next
                let f = dictionary.frequency(node)
                if f != 0 { consider(&best, (Foundation.log(Double(f)) - logTotal + route[i + 1].0, i)) }
                i += 1
            }
            if best == nil { best = (Foundation.log(1.0) - logTotal + route[k + 1].0, k) }  // no word starts here
            route[k] = best!
        }
        var x = 0, bufferStart = -1
        func flush(upTo end: Int) {
            guard bufferStart >= 0 else { return }
            let buffer = sentence[bufferStart..<end]
            if buffer.count == 1 {
                words.append(String(String.UnicodeScalarView(buffer)))
            } else if dictionary.frequency(of: buffer) == 0 {
                recognize(buffer, into: &words)
            } else {
                for c in buffer { words.append(String(c)) }
            }
            bufferStart = -1
        }
        while x < n {
            let y = route[x].1 + 1
            if y - x == 1 {
                if bufferStart < 0 { bufferStart = x }
            } else {
                flush(upTo: x)
                words.append(String(String.UnicodeScalarView(sentence[x..<y])))
            }
            x = y
        }
        flush(upTo: n)
    }

    private func consider(_ best: inout (Double, Int)?, _ candidate: (Double, Int)) {
        guard let current = best else { best = candidate; return }
        if candidate.0 > current.0 || (candidate.0 == current.0 && candidate.1 > current.1) { best = candidate }
    }

    /// finalseg.cut: Han runs through Viterbi; elsewhere letters and numbers ([a-zA-Z0-9]+(\.\d+)?%?) whole,
    /// what lies between them as one piece.
    private func recognize(_ text: ArraySlice<Unicode.Scalar>, into words: inout [String]) {
        let s = Array(text)
        for (run, han) in Self.runs(s, Self.isHan) {
            if han {
                viterbi(s[run], into: &words)
            } else {
                var j = run.lowerBound, pending = run.lowerBound
                let end = run.upperBound
                while j < end {
                    if let length = Self.alphanumericRun(s, from: j, to: end) {
                        if pending < j { words.append(String(String.UnicodeScalarView(s[pending..<j]))) }
                        words.append(String(String.UnicodeScalarView(s[j..<(j + length)])))
                        j += length
                        pending = j
                    } else {
                        j += 1
                    }
                }
                if pending < end { words.append(String(String.UnicodeScalarView(s[pending..<end]))) }
            }
        }
    }

    static func isHan(_ c: Unicode.Scalar) -> Bool { (0x4E00...0x9FD5).contains(c.value) }
    static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        (0x61...0x7A).contains(c.value) || (0x41...0x5A).contains(c.value) || (0x30...0x39).contains(c.value)
    }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) }  // the run holds ASCII only here

    /// The length of [a-zA-Z0-9]+(?:\.\d+)?%? at `j`, or nil.
    static func alphanumericRun(_ s: [Unicode.Scalar], from j: Int, to end: Int) -> Int? {
        var k = j
        while k < end, isASCIIAlphanumeric(s[k]) { k += 1 }
        guard k > j else { return nil }
        if k + 1 < end, s[k] == ".", isDigit(s[k + 1]) {
            k += 1
            while k < end, isDigit(s[k]) { k += 1 }
        }
        if k < end, s[k] == "%" { k += 1 }
        return k - j
    }

    /// finalseg's Viterbi over B(egin), M(iddle), E(nd), S(ingle); ties go to the later state letter, as
    /// Python's max of (probability, state) tuples.
    private func viterbi(_ text: ArraySlice<Unicode.Scalar>, into words: inout [String]) {
        let obs = Array(text), d = dictionary
        let letters: [UInt8] = [66, 77, 69, 83]  // B M E S, for ties
        let previous: [[Int]] = [[2, 3], [1, 0], [0, 1], [3, 2]]  // PrevStatus: B ← E,S; M ← M,B; E ← B,M; S ← S,E
        func emit(_ s: Int, _ c: Unicode.Scalar) -> Double { d.emission[s][c.value] ?? JiebaDictionary.minimum }
        var v = (0..<4).map { d.start[$0] + emit($0, obs[0]) }
        var paths: [[Int]] = (0..<4).map { [$0] }
        for t in obs.indices.dropFirst() {
            var next = [Double](repeating: 0, count: 4), nextPaths = paths
            for y in 0..<4 {
                let e = emit(y, obs[t])
                var best = (-Double.infinity, -1)
                for y0 in previous[y] {
                    let p = v[y0] + d.transition[y0][y] + e
                    if best.1 < 0 || p > best.0 || (p == best.0 && letters[y0] > letters[best.1]) { best = (p, y0) }
                }
                next[y] = best.0
                nextPaths[y] = paths[best.1] + [y]
            }
            v = next
            paths = nextPaths
        }
        let final = v[2] > v[3] || (v[2] == v[3] && letters[2] > letters[3]) ? 2 : 3  // E or S
        let states = paths[final]
        var begin = 0, nextIndex = 0
        for (i, state) in states.enumerated() {
            switch state {
            case 0: begin = i
            case 2:
                words.append(String(String.UnicodeScalarView(obs[begin...i])))
                nextIndex = i + 1
            case 3:
                words.append(String(obs[i]))
                nextIndex = i + 1
            default: break
            }
        }
        if nextIndex < obs.count { words.append(String(String.UnicodeScalarView(obs[nextIndex...]))) }
    }
}
