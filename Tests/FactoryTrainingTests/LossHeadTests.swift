import FactoryEngine
@testable import FactoryTraining
import XCTest

/// The fused LM head + cross-entropy against the same computation op by op (linear, soft cap,
/// cross-entropy): loss and both gradients, with and without Gemma 2's final soft cap.
final class LossHeadTests: XCTestCase {
    func testFusedLossAndGradientsEqualTheOpByOpComputation() throws {
        let (N, H, V) = (6, 8, 13)
        var rng = SplitMix64(seed: 3)
        func random(_ shape: [Int], _ scale: Float) -> [Float] { (0..<shape.reduce(1, *)).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale } }
        let hValues = random([N, H], 2), wValues = random([V, H], 2)
        let labels = [[4, 9, -100, 12, 0, 7]]  // position t predicts labels[t + 1]: five targets, one ignored
        for cap: Float in [0, 5] {
            let targets = LossTargets(labels: labels, seq: N, normalizer: 4, softcap: cap)
            let h1 = Tensor(shape: [1, N, H], values: hValues).requiringGrad(), w1 = Tensor(shape: [V, H], values: wValues).requiringGrad()
            let fused = try LossHead.loss(hidden: h1, weight: w1, targets)
            fused.backward()

            let h2 = Tensor(shape: [1, N, H], values: hValues).requiringGrad(), w2 = Tensor(shape: [V, H], values: wValues).requiringGrad()
            var logits = linear(h2.reshaped([N, H]), w2)
            if cap > 0 { logits = softcap(logits, cap: cap) }
            let counted = Float(targets.targets.filter { $0 >= 0 }.count)
            let reference = scale(crossEntropy(logits, labels: targets.targets), counted / 4)
            reference.backward()

            XCTAssertEqual(fused.values[0], reference.values[0], accuracy: 1e-5, "cap \(cap): loss")
            XCTAssertGreaterThan(fused.values[0], 0.5, "cap \(cap): a loss that cannot be zero")
            for (name, a, b) in [("hidden", h1.grad?.values ?? [], h2.grad?.values ?? []), ("weight", w1.grad?.values ?? [], w2.grad?.values ?? [])] {
                XCTAssertEqual(a.count, b.count, "cap \(cap): \(name) gradient")
                let diff = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(diff, 1e-5, "cap \(cap): \(name) gradient")
            }
        }
        // the cap changes the loss: the test above compares two computations that both honour it
        let plain = try LossHead.loss(hidden: Tensor(shape: [1, N, H], values: hValues), weight: Tensor(shape: [V, H], values: wValues),
                                      LossTargets(labels: labels, seq: N, normalizer: 4))
        let capped = try LossHead.loss(hidden: Tensor(shape: [1, N, H], values: hValues), weight: Tensor(shape: [V, H], values: wValues),
                                       LossTargets(labels: labels, seq: N, normalizer: 4, softcap: 5))
        XCTAssertGreaterThan(abs(plain.values[0] - capped.values[0]), 0.1)
    }
}
