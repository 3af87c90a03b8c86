// The preference losses of stage dpo, as LLaMA-Factory's CustomDPOTrainer computes them (TRL's dpo_loss
// for sigmoid, hinge and ipo; its own odds_ratio_loss and simpo_loss), over a micro-batch's pairs:
// the policy's log-probabilities (chosen rows first, then rejected, as LLaMA-Factory concatenates them)
// against the reference model's. Each pair's loss and its derivatives are written out here, side by
// side, and recorded as one op on the policy's log-probabilities.
//
//   z = (π_c − π_r) − (ρ_c − ρ_r)                          (π policy, ρ reference)
//   sigmoid  −(1 − ε)·log σ(βz) − ε·log σ(−βz)             (ε = dpo_label_smoothing: cDPO)
//   hinge    max(0, 1 − βz)
//   ipo      (z − 1/(2β))²                                 (π, ρ averaged per token)
//   orpo     −π_c − β·log σ(o),  o = (π_c − π_r) − (log(1 − e^π_c) − log(1 − e^π_r))   (no reference)
//   simpo    −log σ(β(π_c − π_r) − γ)                      (γ = simpo_gamma; no reference)
//   pref_ftx adds ftx · (−π_c / length_c) (−π_c itself where π is already averaged)
//
// Rewards, as logged: β(π − ρ) with a reference, β·π without.
import FactoryEngine
import Foundation

/// `pref_loss`: which preference loss stage dpo optimises.
public enum PreferenceLossKind: String, CaseIterable, Sendable {
    case sigmoid, hinge, ipo, orpo, simpo

    /// Whether the loss compares with a reference model (orpo and simpo do not).
    public var usesReference: Bool { self != .orpo && self != .simpo }
    /// Whether log-probabilities are averaged over each answer's tokens (LLaMA-Factory: ipo, orpo, simpo).
    public var averagesLogProbs: Bool { self == .ipo || self == .orpo || self == .simpo }
}

/// The settings of the preference loss (LLaMA-Factory's keys).
public struct PreferenceSettings: Sendable {
    public var kind: PreferenceLossKind = .sigmoid
    /// pref_beta
    public var beta: Double = 0.1
    /// dpo_label_smoothing (sigmoid only)
    public var labelSmoothing: Double = 0
    /// simpo_gamma
    public var simpoGamma: Double = 0.5
    /// pref_ftx: the weight of the chosen answers' SFT loss mixed in
    public var ftx: Double = 0
    public init() {}
}

/// What one micro-batch's pairs give: the mean loss (recorded for backward) and the metrics LLaMA-Factory logs.
public struct PreferenceOutcome {
    public let loss: Tensor
    public let metrics: [String: Double]
}

/// Stage dpo's loss over a micro-batch's pairs (the formulas above), with its metrics.
public enum PreferenceLoss {
    /// `policy`: [2P] log-probabilities (chosen rows, then rejected; already averaged when the kind averages);
    /// `reference`: the same from the reference model (nil for orpo and simpo); `chosenLengths`: labelled
    /// tokens of each chosen answer (for pref_ftx's average). The loss is the mean over the P pairs.
    public static func compute(policy: Tensor, reference: [Float]?, chosenLengths: [Int], _ s: PreferenceSettings) throws -> PreferenceOutcome {
        let p = policy.count / 2
        guard p > 0, policy.count == 2 * p, chosenLengths.count == p else { throw TrainingError("preference loss: \(policy.count) log-probabilities for \(chosenLengths.count) pairs") }
        if s.kind.usesReference { guard reference?.count == policy.count else { throw TrainingError("preference loss \(s.kind.rawValue) needs the reference model's log-probabilities") } }
        let pc = policy.contiguous()
        let beta = s.beta, eps = s.labelSmoothing
        var losses = [Double](repeating: 0, count: p), dChosen = losses, dRejected = losses
        var chosenRewards = losses, rejectedRewards = losses
        var sftLoss = losses
        for i in 0..<p {
            let c = Double(pc.data[i]), r = Double(pc.data[p + i])
            let rc = reference.map { Double($0[i]) } ?? 0, rr = reference.map { Double($0[p + i]) } ?? 0
            var loss = 0.0, dc = 0.0, dr = 0.0
            switch s.kind {
            case .sigmoid:
                let z = (c - r) - (rc - rr)
                loss = -(1 - eps) * logSigmoid(beta * z) - eps * logSigmoid(-beta * z)
                let dz = -(1 - eps) * beta * sigmoid(-beta * z) + eps * beta * sigmoid(beta * z)
                (dc, dr) = (dz, -dz)
            case .hinge:
                let z = (c - r) - (rc - rr)
                loss = max(0, 1 - beta * z)
                let dz = 1 - beta * z > 0 ? -beta : 0
                (dc, dr) = (dz, -dz)
            case .ipo:
                let z = (c - r) - (rc - rr)
                loss = (z - 1 / (2 * beta)) * (z - 1 / (2 * beta))
                let dz = 2 * (z - 1 / (2 * beta))
                (dc, dr) = (dz, -dz)
            case .orpo:
                let o = (c - r) - (log1mexp(c) - log1mexp(r))
                loss = -c - beta * logSigmoid(o)
                let dOdds = -beta * sigmoid(-o)
                (dc, dr) = (-1 + dOdds / -expm1(c), -dOdds / -expm1(r))  // d o / d c = 1/(1 − e^c), d o / d r = −1/(1 − e^r)
            case .simpo:
                let x = beta * (c - r) - s.simpoGamma
                loss = -logSigmoid(x)
                let dx = -sigmoid(-x) * beta
                (dc, dr) = (dx, -dx)
            }
            // the chosen answer's SFT loss (−log p averaged per token), mixed in with pref_ftx
            let sft = s.kind.averagesLogProbs ? -c : -c / Double(max(chosenLengths[i], 1))
            sftLoss[i] = sft
            if s.ftx > 1e-6 {
                loss += s.ftx * sft
                dc += s.ftx * (s.kind.averagesLogProbs ? -1 : -1 / Double(max(chosenLengths[i], 1)))
            }
            losses[i] = loss
            dChosen[i] = dc
            dRejected[i] = dr
            chosenRewards[i] = beta * (c - rc)
            rejectedRewards[i] = beta * (r - rr)
        }
        let mean = losses.reduce(0, +) / Double(p)
        let out = Tensor(shape: [1], values: [Float(mean)])
        let loss = recordCustom(out, name: "preference_loss", inputs: [policy]) { g in
            let scale = Double(g.contiguous().data[0]) / Double(p)
            return [Tensor(shape: policy.shape, values: (dChosen + dRejected).map { Float($0 * scale) })]
        }
        func average(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        var metrics: [String: Double] = [
            "rewards/chosen": average(chosenRewards), "rewards/rejected": average(rejectedRewards),
            "rewards/accuracies": Double(zip(chosenRewards, rejectedRewards).filter { $0 > $1 }.count) / Double(p),
            "rewards/margins": average(zip(chosenRewards, rejectedRewards).map { $0 - $1 }),
            "logps/chosen": average((0..<p).map { Double(pc.data[$0]) }), "logps/rejected": average((0..<p).map { Double(pc.data[p + $0]) }),
        ]
        if s.kind == .orpo {
            metrics["sft_loss"] = average(sftLoss)
            // as LLaMA-Factory logs it: (loss − sft_loss) / β, from the loss with pref_ftx's term already in
            metrics["odds_ratio_loss"] = average(zip(losses, sftLoss).map { ($0 - $1) / beta })
        }
        return PreferenceOutcome(loss: loss, metrics: metrics)
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
    /// log σ(x) without overflow: −log(1 + e^−x).
    static func logSigmoid(_ x: Double) -> Double { x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)) }
    /// log(1 − e^x) for x < 0 (a log-probability).
    static func log1mexp(_ x: Double) -> Double { log1p(-exp(x)) }
}
