import CRowKernels
#if canImport(Glibc)
import Glibc
#endif

// softmax, log-softmax (last dimension) and cross-entropy with ignore_index
// -100, mean over the non-ignored positions (Hugging Face's definition).

/// softmax over the last dimension.
public func softmax(_ x: Tensor) -> Tensor {
    let D = x.shape[x.rank - 1]
    let src = x.contiguous()
    let rows = src.count / max(D, 1)
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data
    parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
        for row in rr { softmaxRow(p + row * D, o + row * D, D) }
    }
    let saved = out.detached()  // the output, without a reference cycle through its node
    return out.recorded("softmax", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape)
        let gp = gc.data, dp = dx.data, o = saved.data
        parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
            for row in rr {
                let y = o + row * D, gr = gp + row * D
                if RowKernels.usesWide {
                    frk_softmax_backward_row(y, gr, dp + row * D, D)
                    continue
                }
                var acc = F8(), i = 0
                while i + 8 <= D { acc += load8(y + i) * load8(gr + i); i += 8 }
                var dot = acc.sum()
                while i < D { dot += y[i] * gr[i]; i += 1 }
                let dv = F8(repeating: dot)
                map8(y, gr, dp + row * D, 0..<D) { y, g in y * (g - dv) }
            }
        }
        return [dx]
    }
}

/// One row: out = exp(x - max) / Σ exp(x - max). A row of all -inf gives zeros. out may be x.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    if RowKernels.usesWide { return frk_softmax_row(x, out, n) }
    let m = max8(x, 0..<n)
    if m == -.infinity {
        out.update(repeating: 0, count: n)
        return
    }
    // exp and its sum in one pass, then one scaling pass.
    let mv = F8(repeating: m)
    var acc = F8()
    var i = 0
    while i + 8 <= n {
        let e = exp8(load8(x + i) - mv)
        store8(e, out + i)
        acc += e
        i += 8
    }
    if i < n {
        var e = exp8(loadPartial(x + i, n - i) - mv)
        for lane in (n - i)..<8 { e[lane] = 0 }
        storePartial(e, out + i, n - i)
        acc += e
    }
    let s = acc.sum()
    let inv = F8(repeating: 1 / s)
    map8(out, out, 0..<n) { $0 * inv }
}

/// log-softmax over the last dimension.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let D = x.shape[x.rank - 1]
    let src = x.contiguous()
    let rows = src.count / max(D, 1)
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data
    parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
        for row in rr {
            let lse = F8(repeating: logSumExp(p + row * D, D))
            map8(p + row * D, o + row * D, 0..<D) { $0 - lse }
        }
    }
    let saved = out.detached()  // the output, without a reference cycle through its node
    return out.recorded("log_softmax", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape)
        let gp = gc.data, dp = dx.data, o = saved.data
        parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
            for row in rr {
                let s = F8(repeating: sum8(gp + row * D, 0..<D) { $0 })
                map8(o + row * D, gp + row * D, dp + row * D, 0..<D) { y, g in g - exp8(y) * s }
            }
        }
        return [dx]
    }
}

/// The label that marks a position as not learned.
public let ignoreIndex = -100

/// Mean cross-entropy of `logits` [N, V] against `labels` (N ints; -100 = ignored),
/// averaged over the non-ignored positions. All ignored gives 0 (and zero gradients).
public func crossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
    let V = logits.shape[logits.rank - 1]
    let src = logits.contiguous()
    let rows = src.count / max(V, 1)
    if let problem = ShapeRules.crossEntropy(logits: logits.shape, labels: labels.count) { preconditionFailure(problem) }
    let p = src.data
    var losses = [Float](repeating: 0, count: rows)
    var lses = [Float](repeating: 0, count: rows)
    labels.withUnsafeBufferPointer { lab in
        losses.withUnsafeMutableBufferPointer { lp in
            lses.withUnsafeMutableBufferPointer { sp in
                let lab = lab.baseAddress!, lossp = lp.baseAddress!, lsep = sp.baseAddress!
                parallelFor(rows, grain: max(1, 8192 / max(V, 1))) { rr in
                    for row in rr where lab[row] != ignoreIndex {
                        precondition(lab[row] >= 0 && lab[row] < V, "label \(lab[row]) outside the vocabulary of \(V)")
                        let lse = logSumExp(p + row * V, V)
                        lsep[row] = lse
                        lossp[row] = lse - p[row * V + lab[row]]
                    }
                }
            }
        }
    }
    let valid = labels.filter { $0 != ignoreIndex }.count
    var total = 0.0
    for (row, l) in labels.enumerated() where l != ignoreIndex { total += Double(losses[row]) }
    let loss = Tensor.scalar(valid == 0 ? 0 : Float(total / Double(valid)))
    return loss.recorded("cross_entropy", [src]) { g in
        let dx = Tensor(shape: src.shape, zeroed: true)
        let p = src.data
        let dp = dx.data, scaleFactor = valid == 0 ? 0 : g.item / Float(valid)
        labels.withUnsafeBufferPointer { lab in
            let lab = lab.baseAddress!
            lses.withUnsafeBufferPointer { sp in
                let lsep = sp.baseAddress!
                parallelFor(rows, grain: max(1, 8192 / max(V, 1))) { rr in
                    for row in rr where lab[row] != ignoreIndex {
                        expShiftScale(p + row * V, shift: lsep[row], scale: scaleFactor, dp + row * V, V)
                        dp[row * V + lab[row]] -= scaleFactor
                    }
                }
            }
        }
        return [dx]
    }
}
