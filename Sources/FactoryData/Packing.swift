/// Several examples in one row of `cutoff_len` tokens (LLaMA-Factory's `packing`).
/// With `neat_packing` the attention mask numbers each sample (1, 2, 3, ...; 0 = padding) so
/// that attention never crosses a sample boundary, and positions restart at every sample.
public struct PackedExample: Equatable, Sendable {
    public var inputIDs: [Int]
    public var labels: [Int]
    /// 1 for tokens (plain packing) or the 1-based sample number (neat packing); 0 for padding.
    public var attentionMask: [Int]
    /// Positions, restarting at each sample.
    public var positionIDs: [Int]
}

public enum Packer {
    /// LLaMA-Factory's greedy_knapsack: lengths sorted ascending; each bin repeatedly takes the
    /// largest length that still fits. Returns bins of lengths.
    public static func greedyKnapsack(_ lengths: [Int], capacity: Int) -> [[Int]] {
        var numbers = lengths.sorted()
        var bins: [[Int]] = []
        while !numbers.isEmpty {
            var bin: [Int] = []
            var remaining = capacity
            while true {
                // bisect_right(numbers, remaining) - 1
                var lo = 0, hi = numbers.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if numbers[mid] <= remaining { lo = mid + 1 } else { hi = mid }
                }
                guard lo > 0 else { break }
                remaining -= numbers[lo - 1]
                bin.append(numbers.remove(at: lo - 1))
            }
            if bin.isEmpty { bin.append(numbers.removeLast()) }  // longer than capacity: alone (already cut to cutoff_len)
            bins.append(bin)
        }
        return bins
    }

    /// Packs encoded examples into rows of `cutoffLen`, padded with `padID` (labels -100, mask 0).
    public static func pack(_ examples: [EncodedExample], cutoffLen: Int, padID: Int, neat: Bool) -> [PackedExample] {
        var byLength: [Int: [Int]] = [:]
        for (i, e) in examples.enumerated() { byLength[e.inputIDs.count, default: []].append(i) }
        for k in byLength.keys { byLength[k]!.reverse() }  // pop from the end keeps the original order
        var rows: [PackedExample] = []
        for bin in greedyKnapsack(examples.map(\.inputIDs.count), capacity: cutoffLen) {
            var row = PackedExample(inputIDs: [], labels: [], attentionMask: [], positionIDs: [])
            for (sample, length) in bin.enumerated() {
                guard let index = byLength[length]?.popLast() else { continue }
                let e = examples[index]
                row.inputIDs += e.inputIDs
                row.labels += e.labels
                row.attentionMask += Array(repeating: neat ? sample + 1 : 1, count: e.inputIDs.count)
                row.positionIDs += Array(0..<e.inputIDs.count)
            }
            let pad = max(0, cutoffLen - row.inputIDs.count)
            row.inputIDs += Array(repeating: padID, count: pad)
            row.labels += Array(repeating: SupervisedEncoder.ignore, count: pad)
            row.attentionMask += Array(repeating: 0, count: pad)
            row.positionIDs += Array(repeating: 0, count: pad)
            rows.append(row)
        }
        return rows
    }

    /// Pre-training rows (stage pt): each text + EOS, concatenated and cut into blocks of
    /// `cutoffLen` (the remainder dropped, as LLaMA-Factory's pretrain processor does with packing);
    /// without packing each text is its own row, cut to `cutoffLen`. Labels are the ids.
    public static func pretrainBlocks(_ texts: [[Int]], eosID: Int, cutoffLen: Int, packing: Bool) -> [EncodedExample] {
        guard packing else {
            return texts.map { t in
                let ids = Array((t + [eosID]).prefix(cutoffLen))
                return EncodedExample(inputIDs: ids, labels: ids)
            }
        }
        let all = texts.flatMap { $0 + [eosID] }
        let blocks = all.count / max(cutoffLen, 1)
        return (0..<blocks).map { b in
            let ids = Array(all[(b * cutoffLen)..<((b + 1) * cutoffLen)])
            return EncodedExample(inputIDs: ids, labels: ids)
        }
    }
}
