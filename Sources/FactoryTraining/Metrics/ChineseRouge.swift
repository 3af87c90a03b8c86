// rouge_chinese's Rouge().get_scores(hyp, ref) F-scores — ROUGE-1, ROUGE-2 and ROUGE-L — over texts whose
// words are already separated by spaces (LLaMA-Factory joins jieba's words with " "). Its steps: cut each
// text into sentences after 。！？? (and runs of six dots or two ellipses) unless a closing quote follows,
// squeeze each sentence's whitespace, split the sentences on " " into one word list; ROUGE-N compares the
// two sets of n-grams, ROUGE-L the longest common subsequence of the two word lists.

enum ChineseRouge {
    struct Scores: Equatable {
        var rouge1: Double, rouge2: Double, rougeL: Double
    }

    static func scores(hypothesis: String, reference: String) -> Scores {
        let hyp = words(hypothesis), ref = words(reference)
        return Scores(rouge1: rougeN(hyp, ref, 1), rouge2: rougeN(hyp, ref, 2), rougeL: rougeL(hyp, ref))
    }

    /// The word list rouge_chinese scores: sentences cut, whitespace squeezed, split on single spaces.
    static func words(_ text: String) -> [[Unicode.Scalar]] {
        var result: [[Unicode.Scalar]] = []
        for sentence in cutSentences(Array(text.unicodeScalars)) where !sentence.isEmpty {
            let squeezed = PythonArithmetic.splitOnSpace(sentence)
            result += squeezed.isEmpty ? [[]] : squeezed  // "".split(" ") is [""]
        }
        return result
    }

    /// rouge_chinese's cut_sent: four substitutions that put a line break after a sentence's end, then
    /// trailing whitespace stripped and the text split on line breaks.
    static func cutSentences(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        let quotes: Set<Unicode.Scalar> = ["\u{201D}", "\u{2019}"]  // ” ’
        let enders: Set<Unicode.Scalar> = ["。", "！", "？", "?"]
        var t = text
        // ([。！？\?])([^”’]): an ender then anything but a closing quote
        t = breakAfter(t) { t, i in enders.contains(t[i]) ? 1 : nil } before: { !quotes.contains($0) }
        // (\.{6})([^”’])
        t = breakAfter(t) { t, i in i + 6 <= t.count && t[i..<(i + 6)].allSatisfy { $0 == "." } ? 6 : nil } before: { !quotes.contains($0) }
        // (\…{2})([^”’])
        t = breakAfter(t) { t, i in i + 2 <= t.count && t[i] == "…" && t[i + 1] == "…" ? 2 : nil } before: { !quotes.contains($0) }
        // ([。！？\?][”’])([^，。！？\?])
        t = breakAfter(t) { t, i in i + 2 <= t.count && enders.contains(t[i]) && quotes.contains(t[i + 1]) ? 2 : nil }
            before: { !enders.contains($0) && $0 != "，" }
        while let last = t.last, PythonArithmetic.isSpace(last) { t.removeLast() }
        return t.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
    }

    /// re.sub(`(head)(next)`, `\1\n\2`): scanning left to right, a match is `head` (its length from
    /// `head(text, i)`) followed by one character that `next` accepts; matches do not overlap.
    private static func breakAfter(_ text: [Unicode.Scalar], head: ([Unicode.Scalar], Int) -> Int?,
                                   before next: (Unicode.Scalar) -> Bool) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count + 8)
        var i = 0
        while i < text.count {
            if let length = head(text, i), i + length < text.count, next(text[i + length]) {
                out += text[i..<(i + length)]
                out.append("\n")
                out.append(text[i + length])
                i += length + 1
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    static func rougeN(_ hyp: [[Unicode.Scalar]], _ ref: [[Unicode.Scalar]], _ n: Int) -> Double {
        let evaluated = ngrams(hyp, n), reference = ngrams(ref, n)
        let overlap = evaluated.intersection(reference).count
        let precision = evaluated.isEmpty ? 0 : Double(overlap) / Double(evaluated.count)
        let recall = reference.isEmpty ? 0 : Double(overlap) / Double(reference.count)
        return f1(precision, recall)
    }

    static func rougeL(_ hyp: [[Unicode.Scalar]], _ ref: [[Unicode.Scalar]]) -> Double {
        let common = Double(longestCommonSubsequence(ref, hyp))
        return f1(common / Double(hyp.count), common / Double(ref.count))
    }

    /// rouge's F: 2·(p·r)/(p + r + 1e-8), in that order of operations.
    static func f1(_ precision: Double, _ recall: Double) -> Double { 2.0 * ((precision * recall) / (precision + recall + 1e-8)) }

    static func ngrams(_ words: [[Unicode.Scalar]], _ n: Int) -> Set<[[Unicode.Scalar]]> {
        guard words.count >= n else { return [] }
        return Set((0...(words.count - n)).map { Array(words[$0..<($0 + n)]) })
    }

    static func longestCommonSubsequence(_ x: [[Unicode.Scalar]], _ y: [[Unicode.Scalar]]) -> Int {
        guard !x.isEmpty, !y.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: y.count + 1), row = previous
        for i in 1...x.count {
            for j in 1...y.count {
                row[j] = x[i - 1] == y[j - 1] ? previous[j - 1] + 1 : max(previous[j], row[j - 1])
            }
            swap(&previous, &row)
        }
        return previous[y.count]
    }
}
