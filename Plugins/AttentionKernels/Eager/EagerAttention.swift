// The `eager` attention kernel: the textbook algorithm. Each head's full score matrix is
// materialised, soft-maxed row by row and kept for backward (O(T²) memory, like transformers'
// eager attention). The reference the flash kernel is compared with, and what `flash_attn:
// disabled` selects.
import CFactoryABI
import FactoryPluginKit
import AttentionKernelKit

final class EagerAttention: AttentionKernelPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.attention.eager", name: "eager", version: "1.0.0", vendor: "Factory",
        summary: "Materialised scores and softmax; O(T²) memory; forward and backward")

    var info: AttentionInfo {
        var i = AttentionInfo()
        i.score = 10
        i.memoryEfficient = false
        (i.causal, i.paddingMask, i.packedSequences, i.groupedQuery, i.slidingWindow, i.logitSoftcap, i.backward) =
            (true, true, true, true, true, true, true)
        return i
    }

    init(config: ConfigReader) throws {}

    /// The probabilities [B, Hq, T, S], and tanh of the scaled scores after them under a soft cap.
    func savedSize(_ p: AttentionProblem) throws -> Int { p.batch * p.qHeads * p.queries * p.keys * (p.softcap > 0 ? 2 : 1) }

    func forward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws {
        let T = p.queries, S = p.keys, D = p.headDim, Dv = p.valueDim
        Host.parallelFor(p.batch * p.qHeads) { heads in
            let kT = UnsafeMutablePointer<Float>.allocate(capacity: D * S)
            // without `saved` (inference) the probabilities live in a per-head buffer
            let own = saved == nil ? UnsafeMutablePointer<Float>.allocate(capacity: T * S * (p.softcap > 0 ? 2 : 1)) : nil
            defer { kT.deallocate(); own?.deallocate() }
            for head in heads {
                let b = head / p.qHeads, kvHead = b * p.kvHeads + (head % p.qHeads) / p.group
                let probs = own ?? saved! + head * T * S
                let tanh = p.softcap > 0 ? (own.map { $0 + T * S } ?? saved! + (p.batch * p.qHeads + head) * T * S) : nil
                transpose(S, D, k + kvHead * S * D, D, kT, S)
                gemm(T, S, D, q + head * T * D, D, kT, S, probs, S, accumulate: false)
                let segmented = p.segmentsMatter(b: b)
                for i in 0..<T {
                    let row = probs + i * S
                    p.finishScores(b: b, query: i, firstKey: 0, row, S, tanhOut: tanh.map { $0 + i * S }, segmented: segmented)
                    let m = rowMax(row, S)
                    guard m > -.infinity else {  // a query that sees no key: 0
                        row.update(repeating: 0, count: S)
                        continue
                    }
                    let inverse = 1 / expShiftedSum(row, S, shift: m)
                    apply8(row, S) { $0 * inverse }
                }
                gemm(T, Dv, S, probs, S, v + kvHead * S * Dv, Dv, out + head * T * Dv, Dv, accumulate: false)
            }
        }
    }

    func backward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws {
        let T = p.queries, S = p.keys, D = p.headDim, Dv = p.valueDim
        // One item per (sequence, kv head): it owns the kv head's dK and dV.
        Host.parallelFor(p.batch * p.kvHeads) { items in
            let vT = UnsafeMutablePointer<Float>.allocate(capacity: Dv * S)
            let dS = UnsafeMutablePointer<Float>.allocate(capacity: T * S), transposed = UnsafeMutablePointer<Float>.allocate(capacity: T * S)
            defer { vT.deallocate(); dS.deallocate(); transposed.deallocate() }
            for item in items {
                let b = item / p.kvHeads, kvHead = b * p.kvHeads + item % p.kvHeads
                transpose(S, Dv, v + kvHead * S * Dv, Dv, vT, S)
                for g in 0..<p.group {
                    let head = b * p.qHeads + (item % p.kvHeads) * p.group + g
                    let probs = saved + head * T * S, gOut = dout + head * T * Dv
                    // dV += Pᵀ · dO ; dP = dO · Vᵀ
                    transpose(T, S, probs, S, transposed, T)
                    gemm(S, Dv, T, transposed, T, gOut, Dv, dv + kvHead * S * Dv, Dv, accumulate: true)
                    gemm(T, S, Dv, gOut, Dv, vT, S, dS, S, accumulate: false)
                    // dS = P ∘ (dP − Σ P·dP) · scale (· (1 − t²) under a soft cap)
                    for i in 0..<T {
                        let pr = probs + i * S, dr = dS + i * S
                        let rowDot = dot(pr, dr, S)
                        for j in 0..<S { dr[j] = pr[j] * (dr[j] - rowDot) * p.scale }
                        if p.softcap > 0 {
                            let t = saved + (p.batch * p.qHeads + head) * T * S + i * S
                            for j in 0..<S { dr[j] *= 1 - t[j] * t[j] }
                        }
                    }
                    // dQ += dS · K ; dK += dSᵀ · Q
                    gemm(T, D, S, dS, S, k + kvHead * S * D, D, dq + head * T * D, D, accumulate: true)
                    transpose(T, S, dS, S, transposed, T)
                    gemm(S, D, T, transposed, T, q + head * T * D, D, dk + kvHead * S * D, D, accumulate: true)
                }
            }
        }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(attentionKernels: [EagerAttention.self]) }
}
