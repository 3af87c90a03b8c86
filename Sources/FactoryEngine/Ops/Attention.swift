import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

// The reference attention: scores materialised per head, softmax, weighted
// values. Grouped-query attention reads kv head h / (Hq / Hkv) without
// repeating K or V. The oracle every attention kernel plugin is checked against.

/// What an attention call asks for.
public struct AttentionParams: Sendable {
    /// Multiplies q·kᵀ (usually 1/√D).
    public var scale: Float
    /// Query i (at position i + S − T) sees keys j ≤ i + S − T.
    public var causal: Bool = true
    /// Keys further back than this many positions are hidden (Mistral, Gemma 2); nil = none.
    public var slidingWindow: Int? = nil
    /// Gemma 2's soft cap: scores → cap · tanh(scores / cap); nil = none.
    public var softcap: Float? = nil

    public init(scale: Float, causal: Bool = true, slidingWindow: Int? = nil, softcap: Float? = nil) {
        self.scale = scale
        self.causal = causal
        self.slidingWindow = slidingWindow
        self.softcap = softcap
    }
}

/// q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] → [B, Hq, T, Dv].
/// `mask` is additive (0 or −∞), broadcastable to [B, Hq, T, S] (padding, packed samples); a mask
/// carrying a SegmentMask with packed samples is expanded to its [B, 1, T, S] form. A query row that
/// sees no key gives 0.
public func attentionReference(q: Tensor, k: Tensor, v: Tensor, mask: Tensor? = nil, params: AttentionParams) -> Tensor {
    let B = q.shape[0], Hq = q.shape[1], T = q.shape[2], D = q.shape[3]
    let Hkv = k.shape[1], S = k.shape[2], Dv = v.shape[3]
    if let problem = ShapeRules.attention(q: q.shape, k: k.shape, v: v.shape, mask: nil) { preconditionFailure(problem) }
    let G = Hq / Hkv
    let mask = mask.map { m in m.segmentMask.map { $0.packed ? $0.additive(queries: T) : m } ?? m }
    // Without gradients, keys and values whose rows are contiguous (a KV cache's views) are read in place
    // instead of copied every decoding step; heads and batches are then found by their strides.
    let inPlace = { (t: Tensor) in !GradMode.isEnabled && t.strides[3] == 1 && t.strides[2] == t.shape[3] }
    let qc = q.contiguous(), kc = inPlace(k) ? k : k.contiguous(), vc = inPlace(v) ? v : v.contiguous()
    let head = { (t: Tensor, b: Int, h: Int) in t.data + b * t.strides[0] + h * t.strides[1] }
    let probs = Tensor(shape: [B, Hq, T, S])
    let capped = params.softcap.map { _ in Tensor(shape: [B, Hq, T, S]) }
    let out = Tensor(shape: [B, Hq, T, Dv])
    let maskFull: (Tensor, [Int])? = mask.map { m in (m.contiguous(), broadcastStrides(m.contiguous(), to: [B, Hq, T, S])) }
    let offset = S - T
    for b in 0..<B {
        for h in 0..<Hq {
            let qh = qc.data + (b * Hq + h) * T * D, kh = head(kc, b, h / G), vh = head(vc, b, h / G)
            let P = probs.data + (b * Hq + h) * T * S
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(S), Int32(D), params.scale, qh, Int32(D), kh, Int32(D), 0, P, Int32(S))
            for i in 0..<T {
                let row = P + i * S
                if maskFull == nil && params.softcap == nil && params.slidingWindow == nil {
                    // Plain causal or bidirectional: softmax over the visible prefix only, zeros after it.
                    let visible = params.causal ? max(0, min(S, i + offset + 1)) : S
                    if visible > 0 { softmaxRow(row, row, visible) }
                    (row + visible).update(repeating: 0, count: S - visible)
                    continue
                }
                if let cap = params.softcap, let c = capped {
                    for j in 0..<S {
                        let t = tanhf(row[j] / cap)
                        c.data[(b * Hq + h) * T * S + i * S + j] = t
                        row[j] = cap * t
                    }
                }
                if let (m, ms) = maskFull {
                    for j in 0..<S { row[j] += m.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]] }
                }
                for j in 0..<S where hidden(i: i, j: j, offset: offset, params) { row[j] = -.infinity }
                if max8(row, 0..<S) == -.infinity {  // a query that sees no key: output 0, no gradient
                    row.update(repeating: 0, count: S)
                    continue
                }
                softmaxRow(row, row, S)
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(Dv), Int32(S), 1, P, Int32(S), vh, Int32(Dv), 0,
                        out.data + (b * Hq + h) * T * Dv, Int32(Dv))
        }
    }
    return out.recorded("attention", [qc, kc, vc]) { g in
        let gc = g.contiguous()
        let dq = Tensor(shape: qc.shape), dk = Tensor(shape: kc.shape, zeroed: true), dv = Tensor(shape: vc.shape, zeroed: true)
        let dS = Tensor(shape: [T, S])
        for b in 0..<B {
            for h in 0..<Hq {
                let qh = qc.data + (b * Hq + h) * T * D, kh = head(kc, b, h / G), vh = head(vc, b, h / G)
                let P = probs.data + (b * Hq + h) * T * S, gh = gc.data + (b * Hq + h) * T * Dv
                // dV += Pᵀ · dO ;  dP = dO · Vᵀ
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(S), Int32(Dv), Int32(T), 1, P, Int32(S), gh, Int32(Dv), 1,
                            dv.data + (b * Hkv + h / G) * S * Dv, Int32(Dv))
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(S), Int32(Dv), 1, gh, Int32(Dv), vh, Int32(Dv), 0,
                            dS.data, Int32(S))
                for i in 0..<T {
                    let p = P + i * S, d = dS.data + i * S
                    var dot: Float = 0
                    for j in 0..<S { dot += p[j] * d[j] }
                    for j in 0..<S { d[j] = p[j] * (d[j] - dot) }
                    if let c = capped {
                        let t = c.data + (b * Hq + h) * T * S + i * S
                        for j in 0..<S { d[j] *= 1 - t[j] * t[j] }
                    }
                }
                // dQ = dS · K · scale ;  dK += dSᵀ · Q · scale
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(D), Int32(S), params.scale, dS.data, Int32(S), kh,
                            Int32(D), 0, dq.data + (b * Hq + h) * T * D, Int32(D))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(S), Int32(D), Int32(T), params.scale, dS.data, Int32(S), qh,
                            Int32(D), 1, dk.data + (b * Hkv + h / G) * S * D, Int32(D))
            }
        }
        return [dq, dk, dv]
    }
}

/// Whether key j is hidden from query i by the causal rule or the sliding window.
@inline(__always)
func hidden(i: Int, j: Int, offset: Int, _ p: AttentionParams) -> Bool {
    let position = i + offset
    if p.causal && j > position { return true }
    if let w = p.slidingWindow, position - j >= w { return true }
    return false
}

/// An additive [T, S] causal mask: 0 where query i (at position i + S − T) may see key j, −∞ elsewhere.
public func causalMask(queries T: Int, keys S: Int) -> Tensor {
    let m = Tensor(shape: [T, S])
    for i in 0..<T { for j in 0..<S { m.data[i * S + j] = j > i + S - T ? -.infinity : 0 } }
    return m
}

/// An additive [B, 1, 1, S] mask from a [B, S] attention mask of 1 (token) and 0 (padding).
public func paddingMask(_ attentionMask: [[Int]]) -> Tensor {
    let B = attentionMask.count, S = attentionMask.first?.count ?? 0
    let m = Tensor(shape: [B, 1, 1, S])
    for b in 0..<B { for j in 0..<S { m.data[b * S + j] = attentionMask[b][j] == 0 ? -.infinity : 0 } }
    return m
}
