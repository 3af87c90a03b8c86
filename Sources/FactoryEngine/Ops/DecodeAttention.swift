#if canImport(Glibc)
import Glibc
#endif

// Attention for a generation's decoding steps: one query per row, keys and values read in place from
// the KV cache's views (a kernel plugin takes contiguous copies, and the flash kernel transposes every
// key tile: at 8 rows that was a fifth of `factory api`'s CPU time, all of it on one thread). Each query
// head is computed on its own from its own row's keys, so a row gives the same bits alone and in any
// batch; the heads of all rows are split across the engine's threads.

public enum DecodeAttention {
    /// Whether `attention` serves this call: inside `PackedWeight.generating`, no gradients, one query per
    /// row, rows of keys and values contiguous, no mask beyond the rows' own key counts (RaggedKeys), each
    /// count within the keys given. Everything else goes to the installed kernel.
    public static func serves(q: Tensor, k: Tensor, v: Tensor, mask: Tensor?, lengths: [Int]?) -> Bool {
        guard ExecutionContext.current.generating, !GradMode.isEnabled, q.rank == 4, k.rank == 4, v.rank == 4, q.shape[2] == 1,
              k.strides[3] == 1, v.strides[3] == 1, k.shape[1] > 0, q.shape[1] % k.shape[1] == 0,
              k.shape[0] == q.shape[0], v.shape[0] == q.shape[0], v.shape[1] == k.shape[1], v.shape[2] == k.shape[2],
              k.shape[3] == q.shape[3] else { return false }
        guard let lengths else { return mask == nil }
        return lengths.count == q.shape[0] && lengths.allSatisfy { $0 >= 0 && $0 <= k.shape[2] }
    }

    /// q [B, Hq, 1, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] → [B, Hq, 1, Dv]. Row b's query sits after its
    /// keys: it sees its first lengths[b] keys (all S when nil), less those further back than the sliding
    /// window, with the soft cap applied to the scaled scores, as the reference attention computes. A row
    /// that sees no key gives 0. Check `serves` first.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, lengths: [Int]?, params p: AttentionParams) -> Tensor {
        let B = q.shape[0], Hq = q.shape[1], D = q.shape[3], Hkv = k.shape[1], S = k.shape[2], Dv = v.shape[3]
        let G = Hq / Hkv
        let qc = q.contiguous()
        let out = Tensor(shape: [B, Hq, 1, Dv])
        let (qp, kp, vp, op) = (UnsafePointer(qc.data), UnsafePointer(k.data), UnsafePointer(v.data), out.data)
        let (ks, vs) = (k.strides, v.strides)
        // Query heads are dealt out evenly (SmolLM2's 3 kv heads over 2 threads would leave one thread twice the
        // other's work), the odd one to part 0, which the caller runs at once while a helper is still waking
        // (the other way round, the caller waited in every layer); a part's heads that share a kv head go
        // through `group` together, one pass over its keys.
        let heads = B * Hq
        let part = { (part: Int, parts: Int) in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: G * max(S, 1))
            defer { scores.deallocate() }
            var head = heads - heads * (parts - part) / parts
            let end = heads - heads * (parts - part - 1) / parts
            while head < end {
                let t = head / G, (b, h) = (t / Hkv, t % Hkv)  // t: row b's kv head h
                let count = min(end, (t + 1) * G) - head
                let n = lengths?[b] ?? S
                let first = p.slidingWindow.map { max(0, n - $0) } ?? 0
                group(qp + head * D, count, kp + b * ks[0] + h * ks[1], ks[2], vp + b * vs[0] + h * vs[1], vs[2],
                      keys: first..<n, D: D, Dv: Dv, p, scores: scores, out: op + head * Dv)
                head += count
            }
        }
        if Threads.count > 1, heads > 1, B * Hq * S * (D + Dv) >= PackedWeight.parallelWork {
            SpinningWorkers.shared.run(part)
        } else {
            part(0, 1)
        }
        return out
    }

    /// G query heads (q[g·D ..< (g+1)·D]) over one kv head: softmax(scale · q·kⱼ, capped) over `keys`, then
    /// Σ pⱼ vⱼ into out[g·Dv ..< (g+1)·Dv]. Each head's numbers do not depend on G or on the other heads.
    @inline(__always)
    static func group(_ q: UnsafePointer<Float>, _ G: Int, _ k: UnsafePointer<Float>, _ kStride: Int, _ v: UnsafePointer<Float>,
                      _ vStride: Int, keys: Range<Int>, D: Int, Dv: Int, _ p: AttentionParams, scores: UnsafeMutablePointer<Float>,
                      out: UnsafeMutablePointer<Float>) {
        let n = keys.count
        guard n > 0 else { return out.update(repeating: 0, count: G * Dv) }
        let k0 = k + keys.lowerBound * kStride, v0 = v + keys.lowerBound * vStride
        for g in 0..<G {
            let (qg, sg) = (q + g * D, scores + g * n)
            var j = 0
            if D % 8 == 0 {
                while j + 8 <= n {  // 8 keys at once: 8 running dot products, summed across lanes together
                    let kj = k0 + j * kStride
                    var a = (F8(), F8(), F8(), F8(), F8(), F8(), F8(), F8())
                    var d = 0
                    while d < D {
                        let qv = load8(qg + d)
                        a.0 = a.0.addingProduct(qv, load8(kj + d))
                        a.1 = a.1.addingProduct(qv, load8(kj + kStride + d))
                        a.2 = a.2.addingProduct(qv, load8(kj + 2 * kStride + d))
                        a.3 = a.3.addingProduct(qv, load8(kj + 3 * kStride + d))
                        a.4 = a.4.addingProduct(qv, load8(kj + 4 * kStride + d))
                        a.5 = a.5.addingProduct(qv, load8(kj + 5 * kStride + d))
                        a.6 = a.6.addingProduct(qv, load8(kj + 6 * kStride + d))
                        a.7 = a.7.addingProduct(qv, load8(kj + 7 * kStride + d))
                        d &+= 8
                    }
                    store8(laneSums(a) * p.scale, sg + j)
                    j += 8
                }
            }
            while j < n {
                let kj = k0 + j * kStride
                var acc = F8(), d = 0
                while d + 8 <= D { acc = acc.addingProduct(load8(qg + d), load8(kj + d)); d += 8 }
                var s = acc.sum()
                while d < D { s += qg[d] * kj[d]; d += 1 }
                sg[j] = s * p.scale
                j += 1
            }
            if let cap = p.softcap { for j in 0..<n { sg[j] = cap * tanhf(sg[j] / cap) } }
            softmaxRow(sg, sg, n)
        }
        for g in 0..<G {  // 32 outputs at a time in registers, over every value row
            let (pg, og) = (UnsafePointer(scores + g * n), out + g * Dv)
            var d = 0
            while d + 32 <= Dv {
                var a = (F8(), F8(), F8(), F8())
                var vj = v0 + d
                for j in 0..<n {
                    let w = F8(repeating: pg[j])
                    a.0 = a.0.addingProduct(w, load8(vj))
                    a.1 = a.1.addingProduct(w, load8(vj + 8))
                    a.2 = a.2.addingProduct(w, load8(vj + 16))
                    a.3 = a.3.addingProduct(w, load8(vj + 24))
                    vj += vStride
                }
                store8(a.0, og + d)
                store8(a.1, og + d + 8)
                store8(a.2, og + d + 16)
                store8(a.3, og + d + 24)
                d &+= 32
            }
            while d < Dv {
                let width = min(8, Dv - d)
                var acc = F8(), vj = v0 + d
                for j in 0..<n {
                    acc = acc.addingProduct(F8(repeating: pg[j]), width == 8 ? load8(vj) : loadPartial(vj, width))
                    vj += vStride
                }
                if width == 8 { store8(acc, og + d) } else { storePartial(acc, og + d, width) }
                d &+= width
            }
        }
    }

    /// (Σ a.0, Σ a.1, …, Σ a.7): each vector's lanes summed, the eight sums side by side.
    @inline(__always)
    static func laneSums(_ a: (F8, F8, F8, F8, F8, F8, F8, F8)) -> F8 {
        let pair = { (x: F8, y: F8) in F8(lowHalf: x.evenHalf + x.oddHalf, highHalf: y.evenHalf + y.oddHalf) }
        let (b0, b1, b2, b3) = (pair(a.0, a.1), pair(a.2, a.3), pair(a.4, a.5), pair(a.6, a.7))  // 4 partial sums each
        let (c0, c1) = (pair(b0, b1), pair(b2, b3))  // 2 each
        return pair(c0, c1)  // 1 each, in order
    }
}
