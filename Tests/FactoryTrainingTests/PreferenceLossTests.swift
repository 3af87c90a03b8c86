import FactoryEngine
@testable import FactoryTraining
import XCTest

/// Each preference loss against its formula evaluated independently here, and its gradient against
/// central finite differences of that formula, for pairs on both sides of every kink.
final class PreferenceLossTests: XCTestCase {
    /// The loss of one pair, written from LLaMA-Factory's and TRL's code in Double.
    func formula(_ kind: PreferenceLossKind, c: Double, r: Double, rc: Double, rr: Double, length: Int, _ s: PreferenceSettings) -> Double {
        func logSigmoid(_ x: Double) -> Double { -log(1 + exp(-x)) }
        let z = (c - r) - (rc - rr), beta = s.beta
        var loss: Double
        switch kind {
        case .sigmoid: loss = -logSigmoid(beta * z) * (1 - s.labelSmoothing) - logSigmoid(-beta * z) * s.labelSmoothing
        case .hinge: loss = max(0, 1 - beta * z)
        case .ipo: loss = pow(z - 1 / (2 * beta), 2)
        case .orpo: loss = -c + beta * -logSigmoid((c - r) - (log(1 - exp(c)) - log(1 - exp(r))))
        case .simpo: loss = -logSigmoid(beta * ((c - r) - s.simpoGamma / beta))
        }
        return loss + s.ftx * (kind.averagesLogProbs ? -c : -c / Double(length))
    }

    func testEveryLossAndItsGradientFollowTheFormula() throws {
        let policy: [Double] = [-1.2, -0.4, -2.5, -0.9, -1.0, -0.3]  // chosen ×3, then rejected ×3
        let reference: [Double] = [-1.0, -0.8, -2.0, -1.1, -0.6, -0.2]
        let lengths = [4, 7, 2]
        for kind in PreferenceLossKind.allCases {
            for (ftx, smoothing) in [(0.0, 0.0), (0.3, kind == .sigmoid ? 0.2 : 0)] {
                var s = PreferenceSettings()
                (s.kind, s.beta, s.ftx, s.labelSmoothing, s.simpoGamma) = (kind, 0.5, ftx, smoothing, 0.3)
                let x = Tensor(shape: [6], values: policy.map(Float.init)).requiringGrad()
                let outcome = try PreferenceLoss.compute(policy: x, reference: kind.usesReference ? reference.map(Float.init) : nil,
                                                         chosenLengths: lengths, s)
                outcome.loss.backward()
                func mean(_ p: [Double]) -> Double {
                    (0..<3).map { i in
                        formula(kind, c: p[i], r: p[3 + i], rc: kind.usesReference ? reference[i] : 0, rr: kind.usesReference ? reference[3 + i] : 0,
                                length: lengths[i], s)
                    }.reduce(0, +) / 3
                }
                let label = "\(kind.rawValue), ftx \(ftx), smoothing \(smoothing)"
                XCTAssertEqual(Double(outcome.loss.values[0]), mean(policy), accuracy: 1e-6, label)
                let grad = try XCTUnwrap(x.grad).values
                for i in 0..<6 {
                    var up = policy, down = policy
                    up[i] += 1e-5
                    down[i] -= 1e-5
                    XCTAssertEqual(Double(grad[i]), (mean(up) - mean(down)) / 2e-5, accuracy: 1e-5, "\(label): d/d policy[\(i)]")
                }
                XCTAssertGreaterThan(grad.map(abs).max()!, 1e-3, "\(label): a gradient that is not zero")
                // from the float32 values the op holds
                let chosenRewards = (0..<3).map { s.beta * (Double(Float(policy[$0])) - (kind.usesReference ? Double(Float(reference[$0])) : 0)) }
                XCTAssertEqual(outcome.metrics["rewards/chosen"]!, chosenRewards.reduce(0, +) / 3, accuracy: 1e-9, label)
            }
        }
    }

    /// With the policy equal to the reference (a LoRA whose B starts at zero) every sigmoid pair's loss is ln 2.
    func testSigmoidLossOfAnUntrainedPolicyIsLn2() throws {
        let values: [Float] = [-3, -7, -1, -2]
        let outcome = try PreferenceLoss.compute(policy: Tensor(shape: [4], values: values), reference: values, chosenLengths: [3, 5], PreferenceSettings())
        XCTAssertEqual(outcome.loss.values[0], Float(log(2.0)), accuracy: 1e-7)
        XCTAssertEqual(outcome.metrics["rewards/accuracies"], 0)
        XCTAssertEqual(outcome.metrics["rewards/margins"], 0)
    }
}
