// sum and mean, over everything or along one axis. Backward broadcasts the
// gradient back to the input's shape.

/// Σ x over all elements → a scalar tensor (partial sums in Float, combined in Double).
public func sum(_ x: Tensor) -> Tensor {
    let src = x.contiguous()
    let p = src.data
    let chunks = max(1, min(Threads.count, src.count / 65536))
    var partial = [Double](repeating: 0, count: chunks)
    let per = (src.count + chunks - 1) / chunks
    partial.withUnsafeMutableBufferPointer { out in
        let o = out.baseAddress!
        parallelFor(chunks, grain: 1) { r in
            for c in r {
                let lo = c * per, hi = min(src.count, lo + per)
                var total = 0.0
                var i = lo
                while i < hi {
                    let end = min(hi, i + 4096)
                    total += Double(sum8(p, i..<end) { $0 })
                    i = end
                }
                o[c] = total
            }
        }
    }
    let shape = x.shape
    return Tensor.scalar(Float(partial.reduce(0, +))).recorded("sum", [src]) { g in [broadcastTo(g, shape)] }
}

/// mean of all elements.
public func mean(_ x: Tensor) -> Tensor { scale(sum(x), 1 / Float(max(x.count, 1))) }

/// Σ along `axis` (keepDim keeps it as size 1).
public func sum(_ x: Tensor, axis: Int, keepDim: Bool = false) -> Tensor {
    let ax = axis < 0 ? x.rank + axis : axis
    let src = x.contiguous()
    let outer = x.shape[..<ax].reduce(1, *), n = x.shape[ax], inner = x.shape[(ax + 1)...].reduce(1, *)
    var keptShape = x.shape
    keptShape[ax] = 1
    let out = Tensor(shape: keptShape, zeroed: true)
    let p = src.data, o = out.data
    parallelFor(outer, grain: max(1, 16384 / max(n * inner, 1))) { r in
        for i in r {
            for j in 0..<n { map8(o + i * inner, p + (i * n + j) * inner, o + i * inner, 0..<inner) { $0 + $1 } }
        }
    }
    var finalShape = keptShape
    if !keepDim { finalShape.remove(at: ax) }
    let result = keepDim ? out : out.view(shape: finalShape, strides: Tensor.contiguousStrides(finalShape))
    let shape = x.shape
    return result.recorded("sum_axis", [src]) { g in [broadcastTo(g.reshaped(keptShape), shape)] }
}

/// mean along `axis`.
public func mean(_ x: Tensor, axis: Int, keepDim: Bool = false) -> Tensor {
    let ax = axis < 0 ? x.rank + axis : axis
    return scale(sum(x, axis: ax, keepDim: keepDim), 1 / Float(max(x.shape[ax], 1)))
}

/// A contiguous copy of `t` broadcast to `shape`. Not recorded.
public func broadcastTo(_ t: Tensor, _ shape: [Int]) -> Tensor {
    let out = Tensor(shape: shape)
    let o = out.data, p = t.data
    if t.count == 1 {
        o.update(repeating: p[0], count: out.count)
        return out
    }
    var i = 0
    forEachIndex(shape, broadcastStrides(t, to: shape), Tensor.contiguousStrides(shape)) { s, _ in
        o[i] = p[s]
        i += 1
    }
    return out
}
