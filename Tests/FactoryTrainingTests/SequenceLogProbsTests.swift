import FactoryEngine
@testable import FactoryTraining
import XCTest

/// The fused per-row log-probabilities (stage dpo's head) against the same computation op by op: each
/// row's logits, cross-entropy over its labelled positions times their count (= −Σ log p), position
/// weights applied one position at a time — values and both gradients under an arbitrary upstream
/// gradient, with and without averaging, position weights and Gemma 2's final soft cap.
final class SequenceLogProbsTests: XCTestCase {
    func testFusedLogProbsAndGradientsEqualTheOpByOpComputation() throws {
        let (B, T, H, V) = (3, 5, 8, 11)
        var rng = SplitMix64(seed: 5)
        func random(_ n: Int, _ scale: Float) -> [Float] { (0..<n).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale } }
        let hValues = random(B * T * H, 2), wValues = random(V * H, 2), upstream: [Float] = [0.7, -1.3, 0.4]
        let labels = [[-100, -100, 4, 9, 2], [-100, 3, 3, 10, -100], [-100, -100, -100, 0, 6]]
        for (cap, average, weighted) in [(Float(0), false, false), (0, true, false), (5, false, true), (0, true, true)] {
            let weights: [Float]? = weighted ? (0..<(B * T)).map { $0 % 3 == 0 ? 0.5 : 1 } : nil
            let targets = SequenceTargets(labels: labels, seq: T, weights: weights, softcap: cap, average: average)
            let h1 = Tensor(shape: [B, T, H], values: hValues).requiringGrad(), w1 = Tensor(shape: [V, H], values: wValues).requiringGrad()
            let fused = try SequenceLogProbs.logProbs(hidden: h1, weight: w1, targets)
            fused.backward(Tensor(shape: [B], values: upstream))

            // op by op: one leaf per position, so each position's log-probability can carry its own weight
            let w2 = Tensor(shape: [V, H], values: wValues).requiringGrad()
            var leaves: [Tensor] = [], expected = [Float](repeating: 0, count: B)
            var objective: Tensor?
            for b in 0..<B {
                let count = Float(targets.lengths[b])
                for t in 0..<T {
                    let leaf = Tensor(shape: [1, H], values: Array(hValues[((b * T + t) * H)..<((b * T + t + 1) * H)])).requiringGrad()
                    leaves.append(leaf)
                    let target = targets.targets[b * T + t]
                    guard target >= 0 else { continue }
                    var logits = linear(leaf, w2)
                    if cap > 0 { logits = softcap(logits, cap: cap) }
                    let logp = scale(crossEntropy(logits, labels: [target]), -1)  // log p of one position
                    let factor = (weights?[b * T + t] ?? 1) / (average ? count : 1)
                    expected[b] += logp.values[0] * factor
                    let term = scale(logp, factor * upstream[b])
                    objective = objective.map { add($0, term) } ?? term
                }
            }
            objective!.backward()
            let label = "cap \(cap), average \(average), weighted \(weighted)"
            for b in 0..<B { XCTAssertEqual(fused.values[b], expected[b], accuracy: 1e-5, "\(label): row \(b)") }
            XCTAssertLessThan(fused.values.max()!, -0.5, "\(label): log-probabilities that cannot be zero")
            let hGrad = h1.grad?.values ?? [], reference = leaves.flatMap { $0.grad?.values ?? [Float](repeating: 0, count: H) }
            XCTAssertEqual(hGrad.count, reference.count, label)
            XCTAssertLessThan(zip(hGrad, reference).map { abs($0 - $1) }.max() ?? .infinity, 1e-5, "\(label): hidden gradient")
            XCTAssertGreaterThan(hGrad.map(abs).max() ?? 0, 0.01, "\(label): a gradient that is not zero")
            let wGrad = w1.grad?.values ?? [], wReference = w2.grad?.values ?? []
            XCTAssertEqual(wGrad.count, V * H, label)
            XCTAssertLessThan(zip(wGrad, wReference).map { abs($0 - $1) }.max() ?? .infinity, 1e-5, "\(label): weight gradient")
        }
    }
}
