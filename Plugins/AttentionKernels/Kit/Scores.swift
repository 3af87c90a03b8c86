import FactoryPluginKit

// From dot products to the scores softmax reads, by the rule of kinds/attention_kernel.h:
// × scale, the soft cap, −∞ for every key the query does not see.

extension AttentionProblem {
    /// Turns row[0..<n] — q_i·k_j for keys j0..<j0+n, query i of sequence b — into scores. With a soft
    /// cap, tanh(score / cap) is written to `tanhOut` (for backward) when it is not nil.
    /// `segmented`: whether segments can hide keys in sequence b (segmentsMatter(b:)).
    @inline(__always)
    public func finishScores(b: Int, query i: Int, firstKey j0: Int, _ row: UnsafeMutablePointer<Float>, _ n: Int,
                             tanhOut: UnsafeMutablePointer<Float>?, segmented: Bool) {
        let s = F8(repeating: scale)
        if softcap > 0 {
            let cap = F8(repeating: softcap), inverse = F8(repeating: 1 / softcap)
            if let tanhOut {
                var j = 0
                while j < n {  // t and the capped score side by side
                    let count = min(8, n - j)
                    var v = F8()
                    for c in 0..<count { v[c] = row[j + c] }
                    let t = tanh8(v * s * inverse)
                    let capped = cap * t
                    for c in 0..<count {
                        tanhOut[j + c] = t[c]
                        row[j + c] = capped[c]
                    }
                    j += 8
                }
            } else {
                apply8(row, n) { cap * tanh8($0 * s * inverse) }
            }
        } else {
            apply8(row, n) { $0 * s }
        }
        let visible = keyRange(query: i)
        let lo = min(n, max(0, visible.lowerBound - j0)), hi = max(lo, min(n, visible.upperBound - j0))
        for j in 0..<lo { row[j] = -.infinity }
        for j in hi..<n { row[j] = -.infinity }
        if segmented, let segments {
            let base = b * keys, own = segments[base + max(0, i + offset)]
            for j in lo..<hi {
                let seg = segments[base + j0 + j]
                if seg == 0 || (packed && seg != own) { row[j] = -.infinity }
            }
        }
    }

    /// The queries that see at least one key of j0..<j1 by the causal and window rules.
    public func queryRange(keys j0: Int, _ j1: Int) -> Range<Int> {
        // query i sees keys keyRange(i); the lower bound grows with i, so do both ends.
        let first = causal ? max(0, j0 - offset) : 0
        let last = slidingWindow > 0 ? min(queries, j1 - 1 + slidingWindow - offset) : queries
        return first..<max(first, last)
    }
}
