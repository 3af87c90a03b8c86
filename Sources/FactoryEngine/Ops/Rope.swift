#if canImport(Glibc)
import Glibc
#endif

// Rotary position embedding, LLaMA's rotate-half layout: for i < D/2,
//   out[i]       = x[i]       · cos θ_i − x[i + D/2] · sin θ_i
//   out[i + D/2] = x[i + D/2] · cos θ_i + x[i]       · sin θ_i
// with θ_i = position · invFreq[i], computed in fp32 as transformers does.
// Backward rotates by −θ.

/// Frequencies of a rotary embedding, and the hook for scaled variants.
public struct RopeFrequencies: Sendable {
    /// invFreq[i] for i < rotaryDim/2.
    public let invFreq: [Float]
    /// Multiplies cos and sin (YaRN's attention scaling); 1 for plain RoPE.
    public let attentionScaling: Float

    /// Plain RoPE: invFreq[i] = 1 / theta^(2i / dim), in fp32.
    public init(dim: Int, theta: Float) {
        invFreq = (0..<(dim / 2)).map { i in 1 / powf(theta, Float(2 * i) / Float(dim)) }
        attentionScaling = 1
    }

    /// Any scaled variant (linear, dynamic, llama3, yarn) supplies its own frequencies.
    public init(invFreq: [Float], attentionScaling: Float = 1) {
        self.invFreq = invFreq
        self.attentionScaling = attentionScaling
    }
}

/// Per-row positions of the batch being run (B × T, restarting at each packed sample with
/// neat_packing), set by the host around a forward pass; a rope() given the shared 0..<T then uses
/// these. nil = none.
public enum RotaryPositions {
    /// (The current ExecutionContext's.)
    public static var perRow: [Int]? {
        get { ExecutionContext.current.rotaryPositions }
        set { ExecutionContext.current.rotaryPositions = newValue }
    }
}

/// Applies RoPE to x [B, T, H, D] or [T, H, D]; `positions` has T entries (shared by the batch) or
/// B × T (one row each).
public func rope(_ x: Tensor, positions: [Int], frequencies: RopeFrequencies) -> Tensor {
    let D = x.shape[x.rank - 1], H = x.shape[x.rank - 2], T = x.shape[x.rank - 3]
    let half = frequencies.invFreq.count
    let B = x.count / max(T * H * D, 1)
    var positions = positions
    if positions.count == T, let rows = RotaryPositions.perRow, rows.count == B * T, positions == Array(0..<T) { positions = rows }
    if let problem = ShapeRules.rope(x.shape, positions: positions.count, half: half) { preconditionFailure(problem) }
    var cosTable = [Float](repeating: 0, count: positions.count * half), sinTable = cosTable  // one row per position
    for (t, pos) in positions.enumerated() {
        for i in 0..<half {
            let angle = Float(pos) * frequencies.invFreq[i]
            cosTable[t * half + i] = cosf(angle) * frequencies.attentionScaling
            sinTable[t * half + i] = sinf(angle) * frequencies.attentionScaling
        }
    }
    let src = x.contiguous()
    let out = rotate(src, B: B, T: T, H: H, D: D, half: half, cos: cosTable, sin: sinTable, sign: 1)
    return out.recorded("rope", [src]) { g in
        [rotate(g.contiguous(), B: B, T: T, H: H, D: D, half: half, cos: cosTable, sin: sinTable, sign: -1)]
    }
}

private func rotate(_ x: Tensor, B: Int, T: Int, H: Int, D: Int, half: Int, cos: [Float], sin: [Float], sign: Float) -> Tensor {
    let perRow = cos.count == B * T * half && B > 1
    let out = Tensor(shape: x.shape)
    let p = x.data, o = out.data
    cos.withUnsafeBufferPointer { cb in
        sin.withUnsafeBufferPointer { sb in
            let c = cb.baseAddress!, s = sb.baseAddress!
            parallelFor(B * T, grain: max(1, 4096 / max(H * D, 1))) { rr in
                for bt in rr {
                    let t = perRow ? bt : bt % T
                    for h in 0..<H {
                        let base = (bt * H + h) * D
                        for i in 0..<half {
                            let x1 = p[base + i], x2 = p[base + i + half]
                            let ci = c[t * half + i], si = sign * s[t * half + i]
                            o[base + i] = x1 * ci - x2 * si
                            o[base + i + half] = x2 * ci + x1 * si
                        }
                        for i in (2 * half)..<D { o[base + i] = p[base + i] }
                    }
                }
            }
        }
    }
    return out
}
