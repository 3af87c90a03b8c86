// Rotary position embedding's frequencies, with every scaling transformers' modeling_rope_utils.py
// implements for the families here: linear, dynamic NTK, llama3, YaRN and LongRoPE, and a partial
// rotary dimension. Frequencies that depend on the sequence length (dynamic, longrope) are computed
// per forward call from the largest position it sees, as transformers' dynamic_rope_update does.
// fp32 where transformers computes in fp32 (the powers and quotients of the frequencies), Double
// where it uses Python floats (the scalars).
import FactoryJSON
import FactoryPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// How the rotary frequencies are scaled.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor`.
    case linear(factor: Float)
    /// NTK-aware: beyond `maxPositions` the base grows with the sequence length.
    case dynamic(factor: Double, maxPositions: Int)
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    case llama3(factor: Float, low: Float, high: Float, original: Float)
    /// YaRN: interpolation below the correction range, extrapolation above, cos and sin scaled by `attentionFactor`.
    case yarn(factor: Double, original: Double, attentionFactor: Double, betaFast: Double, betaSlow: Double, truncate: Bool)
    /// LongRoPE (Phi-3): per-frequency divisors, `long` once the sequence is longer than `original`.
    case longrope(short: [Float], long: [Float], original: Int, attentionFactor: Double)
}

/// The frequencies one forward call rotates by.
public struct Rotary: Sendable {
    /// invFreq[i] for i < rotary dimension / 2 (dimensions beyond pass unrotated).
    public let invFreq: [Float]
    /// Multiplies cos and sin (YaRN's and LongRoPE's attention factor).
    public let attentionScaling: Float
}

/// A model's rotary embedding: base, rotary dimension, scaling.
public struct RotaryEmbedding: Sendable {
    public let theta: Float
    /// The rotated dimensions of each head (head_dim · partial_rotary_factor).
    public let dim: Int
    public let scaling: RopeScaling
    /// llama.cpp's per-frequency divisors (a GGUF file's rope_freqs.weight, where it stores Llama 3.1's scaling).
    public var frequencyFactors: [Float]?

    public init(theta: Float, dim: Int, scaling: RopeScaling, frequencyFactors: [Float]? = nil) {
        (self.theta, self.dim, self.scaling, self.frequencyFactors) = (theta, dim, scaling, frequencyFactors)
        powers = (0..<(max(dim, 0) / 2)).map { i in powf(theta, Float(2 * i) / Float(dim)) }
    }

    /// base^(2i/dim) in fp32, i < dim/2 (computed once: every layer of every decoded token asks `at`).
    let powers: [Float]

    /// The frequencies for a call whose largest position is `positions.max()`.
    public func at(_ positions: [Int]) -> Rotary { at(length: (positions.max() ?? 0) + 1) }

    /// The frequencies for a sequence of `length` tokens.
    public func at(length: Int) -> Rotary {
        var rotary = unfactored(length)
        if let f = frequencyFactors, f.count == rotary.invFreq.count {
            rotary = Rotary(invFreq: zip(rotary.invFreq, f).map { $0 / $1 }, attentionScaling: rotary.attentionScaling)
        }
        return rotary
    }

    private func unfactored(_ length: Int) -> Rotary {
        let plain = powers.map { 1 / $0 }
        switch scaling {
        case .none: return Rotary(invFreq: plain, attentionScaling: 1)
        case .linear(let factor): return Rotary(invFreq: plain.map { $0 / factor }, attentionScaling: 1)
        case .dynamic(let factor, let maxPositions):
            guard length > maxPositions else { return Rotary(invFreq: plain, attentionScaling: 1) }
            let d = Double(dim)
            let base = Double(theta) * pow(factor * Double(length) / Double(maxPositions) - (factor - 1), d / (d - 2))
            return Rotary(invFreq: (0..<(dim / 2)).map { i in 1 / powf(Float(base), Float(2 * i) / Float(dim)) }, attentionScaling: 1)
        case .llama3(let factor, let low, let high, let original):
            let lowWavelen = original / low, highWavelen = original / high
            return Rotary(invFreq: plain.map { f in
                let wavelen = 2 * Float.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (original / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }, attentionScaling: 1)
        case .yarn(let factor, let original, let attentionFactor, let betaFast, let betaSlow, let truncate):
            let d = Double(dim), base = Double(theta)
            func correctionDim(_ rotations: Double) -> Double { d * log(original / (rotations * 2 * Double.pi)) / (2 * log(base)) }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { (low, high) = (low.rounded(.down), high.rounded(.up)) }
            (low, high) = (max(low, 0), min(high, d - 1))
            if low == high { high += 0.001 }
            let p = powers
            return Rotary(invFreq: (0..<(dim / 2)).map { i in
                let ramp = min(max((Float(i) - Float(low)) / Float(high - low), 0), 1)
                let extrapolation = 1 - ramp
                return 1 / (Float(factor) * p[i]) * (1 - extrapolation) + 1 / p[i] * extrapolation
            }, attentionScaling: Float(attentionFactor))
        case .longrope(let short, let long, let original, let attentionFactor):
            let factors = length > original ? long : short
            return Rotary(invFreq: zip(factors, powers).map { 1 / ($0 * $1) }, attentionScaling: Float(attentionFactor))
        }
    }
}
