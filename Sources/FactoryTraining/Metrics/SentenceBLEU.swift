// nltk's sentence_bleu with one reference, weights (¼, ¼, ¼, ¼) and SmoothingFunction().method3 — what
// LLaMA-Factory scores predictions with, over characters (`list(text)`: Unicode scalars).
import Foundation

enum SentenceBLEU {
    /// BLEU-4 of `hypothesis` against `reference`, in [0, 1].
    static func score(hypothesis: [Unicode.Scalar], reference: [Unicode.Scalar]) -> Double {
        let hyp = hypothesis.map(\.value), ref = reference.map(\.value)
        var precisions: [(numerator: Int, denominator: Int)] = []
        for n in 1...4 {
            let counts = ngramCounts(hyp, n), referenceCounts = ngramCounts(ref, n)
            let clipped = counts.reduce(0) { $0 + min($1.value, referenceCounts[$1.key] ?? 0) }
            precisions.append((clipped, max(1, counts.values.reduce(0, +))))
        }
        if precisions[0].numerator == 0 { return 0 }  // no character in common (also an empty hypothesis)
        let penalty = brevityPenalty(reference: ref.count, hypothesis: hyp.count)
        var smoothingOrder = 1  // method3: the k-th order with no match counts 1 / (2^k · its n-grams)
        var logs: [Double] = []
        for p in precisions {
            let value: Double
            if p.numerator == 0 {
                value = 1 / Double((1 << smoothingOrder) * p.denominator)
                smoothingOrder += 1
            } else {
                value = Double(p.numerator) / Double(p.denominator)
            }
            logs.append(0.25 * Foundation.log(value))
        }
        return penalty * Foundation.exp(PythonArithmetic.fsum(logs))
    }

    static func brevityPenalty(reference: Int, hypothesis: Int) -> Double {
        if hypothesis > reference { return 1 }
        if hypothesis == 0 { return 0 }
        return Foundation.exp(1 - Double(reference) / Double(hypothesis))
    }

    static func ngramCounts(_ items: [UInt32], _ n: Int) -> [ArraySlice<UInt32>: Int] {
        var counts: [ArraySlice<UInt32>: Int] = [:]
        guard items.count >= n else { return counts }
        for start in 0...(items.count - n) { counts[items[start..<(start + n)], default: 0] += 1 }
        return counts
    }
}
