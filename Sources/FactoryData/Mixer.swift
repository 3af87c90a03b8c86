import FactoryEngine
/// `mix_strategy` over several datasets (LLaMA-Factory's merge_dataset):
/// concat appends them; interleave_under and interleave_over take rows from the datasets in
/// turn — round-robin, or by `interleave_probs` with a seeded generator — and stop when the
/// first dataset runs out (under) or when every dataset has been used up once, restarting the
/// exhausted ones (over), as Hugging Face datasets' first_exhausted / all_exhausted do. The order
/// within a probabilistic mix is reproducible by seed but not numpy's.
public enum Mixer {
    public static func mix<T>(_ sets: [[T]], strategy: String, probabilities: [Double]?, seed: UInt64) throws -> [T] {
        let nonEmpty = sets.filter { !$0.isEmpty }
        switch strategy {
        case "concat": return sets.flatMap { $0 }
        case "interleave_under", "interleave_over": break
        default: throw DataError("mix_strategy '\(strategy)' is not concat, interleave_under or interleave_over")
        }
        guard !nonEmpty.isEmpty else { return [] }
        if let p = probabilities {
            guard p.count == sets.count, p.allSatisfy({ $0 >= 0 }), p.reduce(0, +) > 0 else {
                throw DataError("interleave_probs needs \(sets.count) non-negative numbers, got \(p)")
            }
        }
        let over = strategy == "interleave_over"
        var next = [Int](repeating: 0, count: sets.count)
        var exhausted = [Bool](repeating: false, count: sets.count)
        for (i, s) in sets.enumerated() where s.isEmpty { exhausted[i] = true }
        var rng = SplitMix64(seed: seed)
        var out: [T] = []
        var turn = 0
        while true {
            let pick: Int
            if let p = probabilities {
                let total = p.reduce(0, +)
                var r = rng.nextUnit() * total
                var chosen = p.count - 1
                for (i, w) in p.enumerated() {
                    r -= w
                    if r < 0 { chosen = i; break }
                }
                pick = chosen
            } else {
                pick = turn % sets.count
                turn += 1
            }
            guard !sets[pick].isEmpty else { continue }
            out.append(sets[pick][next[pick]])
            next[pick] += 1
            if next[pick] == sets[pick].count {
                exhausted[pick] = true
                if !over { break }
                next[pick] = 0
                if exhausted.allSatisfy({ $0 }) { break }
            }
        }
        return out
    }
}
