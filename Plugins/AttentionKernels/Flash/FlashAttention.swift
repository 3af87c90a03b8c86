// The `flash` attention kernel: tiled attention with an online softmax (FlashAttention-2's
// algorithm, on CPU). Forward walks the key tiles a query tile can see, keeping a running max and
// sum per query row; it keeps only the log-sum-exp of each row for backward, O(T) instead of the
// O(T²) probabilities. Backward recomputes each tile's probabilities from that log-sum-exp.
// Tiles fully hidden by the causal rule or the window are skipped, so causal attention does about
// half the work of materialised scores. Grouped-query heads read their kv head in place.
import CFactoryABI
import FactoryPluginKit
import AttentionKernelKit

#if canImport(Glibc)
import Glibc
#endif

/// Query rows and keys per tile: a 64 × 64 score tile and its operands stay in L1/L2.
let queryTile = 64, keyTile = 64

final class FlashAttention: AttentionKernelPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.attention.flash", name: "flash", version: "1.0.0", vendor: "Factory",
        summary: "Tiled attention with online softmax; O(T) memory; forward and backward")

    var info: AttentionInfo {
        var i = AttentionInfo()
        i.score = 20
        i.memoryEfficient = true
        (i.causal, i.paddingMask, i.packedSequences, i.groupedQuery, i.slidingWindow, i.logitSoftcap, i.backward) =
            (true, true, true, true, true, true, true)
        return i
    }

    init(config: ConfigReader) throws {}

    /// One log-sum-exp per query row: [B, Hq, T].
    func savedSize(_ p: AttentionProblem) throws -> Int { p.batch * p.qHeads * p.queries }

    // MARK: forward

    func forward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws {
        let blocks = (p.queries + queryTile - 1) / queryTile
        Host.parallelFor(p.batch * p.qHeads * blocks) { items in
            let scratch = Scratch(p)
            defer { scratch.free() }
            for item in items {
                let (bh, block) = item.quotientAndRemainder(dividingBy: blocks)
                forwardTile(p, b: bh / p.qHeads, h: bh % p.qHeads, i0: block * queryTile, q: q, k: k, v: v, out: out, lse: saved, scratch)
            }
        }
    }

    /// Query rows i0..<i0+64 of head h: out and (when wanted) their log-sum-exp.
    func forwardTile(_ p: AttentionProblem, b: Int, h: Int, i0: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                     v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>?, _ s: Scratch) {
        let D = p.headDim, Dv = p.valueDim, S = p.keys, rows = min(queryTile, p.queries - i0)
        let head = b * p.qHeads + h, kvHead = b * p.kvHeads + h / p.group
        let qRows = q + (head * p.queries + i0) * D
        let kBase = k + kvHead * S * D, vBase = v + kvHead * S * Dv
        let segmented = p.segmentsMatter(b: b)
        for r in 0..<rows { (s.rowMax[r], s.rowSum[r]) = (-.infinity, 0) }
        s.acc.update(repeating: 0, count: rows * Dv)
        let first = p.keyRange(query: i0), last = p.keyRange(query: i0 + rows - 1)
        var j0 = first.lowerBound
        while j0 < last.upperBound {
            let cols = min(keyTile, last.upperBound - j0)
            transpose(cols, D, kBase + j0 * D, D, s.kT, keyTile)
            gemm(rows, cols, D, qRows, D, s.kT, keyTile, s.scores, keyTile, accumulate: false)
            for r in 0..<rows {
                let row = s.scores + r * keyTile
                p.finishScores(b: b, query: i0 + r, firstKey: j0, row, cols, tanhOut: nil, segmented: segmented)
                let m = max(s.rowMax[r], rowMax(row, cols))
                guard m > -.infinity else {  // nothing visible yet in this row
                    row.update(repeating: 0, count: cols)
                    continue
                }
                let rescale = expf(s.rowMax[r] - m)
                s.rowSum[r] = s.rowSum[r] * rescale + expShiftedSum(row, cols, shift: m)
                if rescale != 1 { apply8(s.acc + r * Dv, Dv) { $0 * rescale } }
                s.rowMax[r] = m
            }
            gemm(rows, Dv, cols, s.scores, keyTile, vBase + j0 * Dv, Dv, s.acc, Dv, accumulate: true)
            j0 += cols
        }
        let outRows = out + (head * p.queries + i0) * Dv
        for r in 0..<rows {
            let l = s.rowSum[r], o = outRows + r * Dv, a = s.acc + r * Dv
            let inverse: Float = l > 0 ? 1 / l : 0
            for d in 0..<Dv { o[d] = a[d] * inverse }
            lse?[head * p.queries + i0 + r] = l > 0 ? s.rowMax[r] + logf(l) : .infinity  // +∞: the row sees nothing
        }
    }

    // MARK: backward

    func backward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws {
        // One work item per (sequence, kv head): it owns that kv head's dK, dV and its query heads' dQ.
        Host.parallelFor(p.batch * p.kvHeads) { items in
            let scratch = Scratch(p)
            defer { scratch.free() }
            for item in items {
                backwardHead(p, b: item / p.kvHeads, kvh: item % p.kvHeads, q: q, k: k, v: v, out: out, dout: dout, lse: saved,
                             dq: dq, dk: dk, dv: dv, scratch)
            }
        }
    }

    func backwardHead(_ p: AttentionProblem, b: Int, kvh: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      out: UnsafePointer<Float>, dout: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                      dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, _ s: Scratch) {
        let D = p.headDim, Dv = p.valueDim, S = p.keys, T = p.queries, G = p.group
        let kvHead = b * p.kvHeads + kvh
        let kBase = k + kvHead * S * D, vBase = v + kvHead * S * Dv, dkBase = dk + kvHead * S * D, dvBase = dv + kvHead * S * Dv
        let segmented = p.segmentsMatter(b: b)
        // delta_i = dO_i · O_i, per query row of each head of the group
        for g in 0..<G {
            let head = b * p.qHeads + kvh * G + g
            for i in 0..<T { s.delta[g * T + i] = dot(dout + (head * T + i) * Dv, out + (head * T + i) * Dv, Dv) }
        }
        var j0 = 0
        while j0 < S {
            let cols = min(keyTile, S - j0)
            transpose(cols, D, kBase + j0 * D, D, s.kT, keyTile)
            transpose(cols, Dv, vBase + j0 * Dv, Dv, s.vT, keyTile)
            let queries = p.queryRange(keys: j0, j0 + cols)
            for g in 0..<G {
                let head = b * p.qHeads + kvh * G + g
                var i0 = queries.lowerBound
                while i0 < min(T, queries.upperBound) {
                    let rows = min(queryTile, min(T, queries.upperBound) - i0)
                    let qRows = q + (head * T + i0) * D, doRows = dout + (head * T + i0) * Dv
                    // P = exp(scores − lse)
                    gemm(rows, cols, D, qRows, D, s.kT, keyTile, s.scores, keyTile, accumulate: false)
                    for r in 0..<rows {
                        let row = s.scores + r * keyTile
                        p.finishScores(b: b, query: i0 + r, firstKey: j0, row, cols, tanhOut: p.softcap > 0 ? s.tanh + r * keyTile : nil,
                                       segmented: segmented)
                        _ = expShiftedSum(row, cols, shift: lse[head * T + i0 + r])
                    }
                    // dV += Pᵀ · dO
                    transpose(rows, cols, s.scores, keyTile, s.transposed, queryTile)
                    gemm(cols, Dv, rows, s.transposed, queryTile, doRows, Dv, dvBase + j0 * Dv, Dv, accumulate: true)
                    // dP = dO · Vᵀ ; dS = P ∘ (dP − delta) · scale (· (1 − t²) under a soft cap)
                    gemm(rows, cols, Dv, doRows, Dv, s.vT, keyTile, s.dP, keyTile, accumulate: false)
                    for r in 0..<rows {
                        dScores(s.scores + r * keyTile, s.dP + r * keyTile, p.softcap > 0 ? s.tanh + r * keyTile : nil, cols,
                                delta: s.delta[g * T + i0 + r], scale: p.scale)
                    }
                    // dQ += dS · K ; dK += dSᵀ · Q
                    gemm(rows, D, cols, s.dP, keyTile, kBase + j0 * D, D, dq + (head * T + i0) * D, D, accumulate: true)
                    transpose(rows, cols, s.dP, keyTile, s.transposed, queryTile)
                    gemm(cols, D, rows, s.transposed, queryTile, qRows, D, dkBase + j0 * D, D, accumulate: true)
                    i0 += rows
                }
            }
            j0 += cols
        }
    }
}

/// dP ← P ∘ (dP − delta) · scale, times (1 − t²) under a soft cap: the gradient of the raw scores.
@inline(__always)
func dScores(_ pr: UnsafePointer<Float>, _ dpr: UnsafeMutablePointer<Float>, _ tanh: UnsafePointer<Float>?, _ n: Int, delta: Float, scale: Float) {
    let d = F8(repeating: delta), sc = F8(repeating: scale)
    var j = 0
    while j + 8 <= n {
        var ds = load8(pr + j) * (load8(dpr + j) - d)
        if let tanh {
            let t = load8(tanh + j)
            ds = ds * (1 - t * t)
        }
        store8(ds * sc, dpr + j)
        j += 8
    }
    while j < n {
        var ds = pr[j] * (dpr[j] - delta)
        if let tanh { ds *= 1 - tanh[j] * tanh[j] }
        dpr[j] = ds * scale
        j += 1
    }
}

/// One worker's tiles, allocated per parallel chunk (nothing outlives a call).
final class Scratch {
    let kT, vT, scores, dP, tanh, transposed, acc, rowMax, rowSum, delta: UnsafeMutablePointer<Float>

    init(_ p: AttentionProblem) {
        let dim = max(p.headDim, p.valueDim)
        kT = .allocate(capacity: dim * keyTile)
        vT = .allocate(capacity: dim * keyTile)
        scores = .allocate(capacity: queryTile * keyTile)
        dP = .allocate(capacity: queryTile * keyTile)
        tanh = .allocate(capacity: queryTile * keyTile)
        transposed = .allocate(capacity: queryTile * keyTile)
        acc = .allocate(capacity: queryTile * dim)
        rowMax = .allocate(capacity: queryTile)
        rowSum = .allocate(capacity: queryTile)
        delta = .allocate(capacity: max(1, p.group * p.queries))
    }

    func free() {
        for b in [kT, vT, scores, dP, tanh, transposed, acc, rowMax, rowSum, delta] { b.deallocate() }
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(attentionKernels: [FlashAttention.self]) }
}
