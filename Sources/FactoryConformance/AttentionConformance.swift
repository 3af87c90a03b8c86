import FactoryHost
import FactoryEngine

/// The attention-kernel conformance sweep (`factory plugins check`, `--full` for the whole sweep):
/// outputs and the gradients of q, k, v from a kernel plugin against the host's reference attention
/// (materialised scores, tested against a Double loop), on deterministic inputs.
public enum AttentionConformance {
    /// Relative error allowed: max |kernel − reference| / max |reference|, per tensor (fp32).
    public static let tolerance = 1e-5

    /// Which masks a case uses.
    public enum Variant: String, CaseIterable, Sendable {
        case causal, causalPadding = "causal+padding", packed, windowSoftcap = "window+softcap", bidirectionalPadding = "bidirectional+padding"
    }

    /// One problem of the sweep: B = 2 sequences, kv heads = 2 (1 for the longest), query heads = kv × ratio.
    public struct Case: Sendable, CustomStringConvertible {
        public let headDim: Int, length: Int, ratio: Int, variant: Variant
        /// Keys beyond the queries (a cached prefix); only for short causal cases.
        public let prefix: Int
        public var batch: Int { length >= 4096 ? 1 : 2 }
        public var kvHeads: Int { length >= 1000 ? 1 : 2 }
        public var description: String {
            "D\(headDim) T\(length)\(prefix > 0 ? "+\(prefix) cached" : "") GQA×\(ratio) \(variant.rawValue)"
        }
    }

    /// The sweep: head sizes 64 and 128, GQA ratios 1, 3, 4, every mask variant, lengths 1, 7, 33 (quick:
    /// seconds even in a debug build) or also 128, 1000 and 4096 (full; causal and packed at 4096);
    /// plus decode-style cases with a cached prefix.
    public static func cases(full: Bool) -> [Case] {
        var all: [Case] = []
        for D in [64, 128] {
            for T in [1, 7, 33] + (full ? [128, 1000, 4096] : []) {
                for ratio in [1, 3, 4] {
                    for v in T == 4096 ? [.causal, .packed] : Variant.allCases { all.append(Case(headDim: D, length: T, ratio: ratio, variant: v, prefix: 0)) }
                }
            }
            all.append(Case(headDim: D, length: 1, ratio: 3, variant: .causal, prefix: 37))
            all.append(Case(headDim: D, length: 7, ratio: 4, variant: .windowSoftcap, prefix: 20))
        }
        return all
    }

    /// The problem's inputs and masks, filled deterministically.
    struct Inputs {
        let q: Tensor, k: Tensor, v: Tensor, dout: Tensor
        let params: AttentionParams
        let segments: SegmentMask?
    }

    static func inputs(_ c: Case) -> Inputs {
        let B = c.batch, Hkv = c.kvHeads, Hq = Hkv * c.ratio, T = c.length, S = c.length + c.prefix, D = c.headDim
        var rng = SplitMix64(seed: UInt64(D * 1_000_003 + T * 101 + c.ratio * 7 + c.prefix))
        func tensor(_ shape: [Int], _ amplitude: Double) -> Tensor {
            Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float((rng.nextUnit() * 2 - 1) * amplitude) })
        }
        let q = tensor([B, Hq, T, D], 1.5), k = tensor([B, Hkv, S, D], 1.5), v = tensor([B, Hkv, S, D], 1), dout = tensor([B, Hq, T, D], 1)
        var params = AttentionParams(scale: 1 / Float(D).squareRoot())
        var segments: SegmentMask?
        switch c.variant {
        case .causal: break
        case .causalPadding, .bidirectionalPadding:
            params.causal = c.variant == .causalPadding
            // sequence b has b·S/3 padding positions at the end (right padding), the first none
            let rows = (0..<B).map { b in (0..<S).map { j in j < S - b * S / 3 ? 1 : 0 } }
            segments = SegmentMask(attentionMask: rows, packed: false)
        case .packed:
            // samples of uneven lengths packed into each row, then padding
            let rows = (0..<B).map { b in
                var row: [Int] = [], sample = 1, left = S
                while left > 0 {
                    let n = min(left, max(1, (S / 3) + (sample * 7 + b * 13) % max(1, S / 4)))
                    row += [Int](repeating: sample, count: n)
                    left -= n
                    sample += 1
                }
                if S > 4 { for j in (S - S / 8)..<S { row[j] = 0 } }
                return row
            }
            segments = SegmentMask(attentionMask: rows, packed: true)
        case .windowSoftcap:
            params.slidingWindow = max(1, S / 3)
            params.softcap = 1.5
        }
        return Inputs(q: q, k: k, v: v, dout: dout, params: params, segments: segments)
    }

    /// Relative errors (out, dq, dk, dv) of `kernel` on case `c`.
    public static func errors(_ kernel: AttentionKernel, _ c: Case) throws -> [Double] {
        let x = inputs(c)
        let mask = x.segments?.tensor()
        func run(_ f: (Tensor, Tensor, Tensor) throws -> Tensor) rethrows -> [Tensor] {
            let q = x.q.detached().requiringGrad(), k = x.k.detached().requiringGrad(), v = x.v.detached().requiringGrad()
            let out = try f(q, k, v)
            out.backward(x.dout)
            return [out, q.grad ?? Tensor.full(q.shape, 0), k.grad ?? Tensor.full(k.shape, 0), v.grad ?? Tensor.full(v.shape, 0)]
        }
        let reference = run { q, k, v in attentionReference(q: q, k: k, v: v, mask: mask, params: x.params) }
        GradMode.backwardFailure = nil
        let got = try run { q, k, v in try kernelAttention(q: q, k: k, v: v, mask: mask, params: x.params, kernel: kernel) }
        if let failure = GradMode.backwardFailure { throw HookError(failure) }
        return zip(got, reference).map { a, b in relativeError(a.values, b.values) }
    }

    /// max |a − b| / max |b| (NaN anywhere → infinity).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var diff = 0.0, scale = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(b[i])
            if d.isNaN { return .infinity }
            diff = max(diff, abs(d))
            scale = max(scale, abs(Double(b[i])))
        }
        return scale > 0 ? diff / scale : diff
    }
}
