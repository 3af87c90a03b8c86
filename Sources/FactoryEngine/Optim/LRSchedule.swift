#if canImport(Glibc)
import Glibc
#endif

/// The learning-rate schedules of transformers' get_scheduler, as the
/// multiplier λ(step) that LambdaLR applies to the base learning rate
/// (step = optimizer steps taken so far, starting at 0).
public enum LRSchedule: String, CaseIterable, Sendable {
    case constant
    case constantWithWarmup = "constant_with_warmup"
    case linear
    case cosine
    case cosineWithRestarts = "cosine_with_restarts"
    case polynomial
    case inverseSqrt = "inverse_sqrt"

    /// λ(step) for a run of `total` steps with `warmup` warmup steps.
    /// cosine uses num_cycles 0.5, cosine_with_restarts 1, polynomial lr_end 1e-7 and power 1 (transformers' defaults).
    public func multiplier(step: Int, total: Int, warmup: Int, baseLR: Double) -> Double {
        let s = Double(step), w = Double(warmup), n = Double(total)
        func warming() -> Double? { step < warmup ? s / max(1, w) : nil }
        switch self {
        case .constant:
            return 1
        case .constantWithWarmup:
            return warming() ?? 1
        case .linear:
            return warming() ?? max(0, (n - s) / max(1, n - w))
        case .cosine:
            if let x = warming() { return x }
            let progress = (s - w) / max(1, n - w)
            return max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
        case .cosineWithRestarts:
            if let x = warming() { return x }
            let progress = (s - w) / max(1, n - w)
            if progress >= 1 { return 0 }
            return max(0, 0.5 * (1 + cos(Double.pi * (1 * progress).truncatingRemainder(dividingBy: 1))))
        case .polynomial:
            if let x = warming() { return x }
            let lrEnd = 1e-7
            if step > total { return lrEnd / baseLR }
            let pctRemaining = 1 - (s - w) / (n - w)
            return ((baseLR - lrEnd) * pctRemaining + lrEnd) / baseLR
        case .inverseSqrt:
            let timescale = warmup > 0 ? w : 10_000
            if let x = warming() { return x }
            return 1 / ((s + (timescale - w)) / timescale).squareRoot()
        }
    }

    /// transformers' TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(total · ratio).
    public static func warmupSteps(total: Int, warmupSteps: Int, warmupRatio: Double) -> Int {
        warmupSteps > 0 ? warmupSteps : Int((Double(total) * warmupRatio).rounded(.up))
    }
}
