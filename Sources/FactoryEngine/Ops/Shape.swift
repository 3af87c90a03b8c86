// Views and copies: reshape, permute/transpose, slice (views, no copy where
// the layout allows), contiguous, concat and split. Each backward beside its forward.

extension Tensor {
    /// A row-major copy (always a new storage). Not recorded.
    public func contiguousCopy() -> Tensor {
        let out = Tensor(shape: shape)
        copyStrided(from: self, to: out.data)
        return out
    }

    /// This tensor if contiguous, else a recorded copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return contiguousCopy().recorded("contiguous", [self]) { g in [g] }
    }

    /// The same elements in another shape (one dimension may be -1). A view when
    /// contiguous, else a copy; recorded.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let i = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            dims[i] = known == 0 ? 0 : count / known
        }
        if let problem = ShapeRules.reshape(shape, to: dims) { preconditionFailure(problem) }
        let source = contiguous()
        let oldShape = shape
        return source.view(shape: dims, strides: Tensor.contiguousStrides(dims)).recorded("reshape", [source]) { g in
            [g.reshaped(oldShape)]
        }
    }

    /// Dimensions reordered: result dimension i is this tensor's dimension order[i]. A view.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "bad permutation \(order) for rank \(rank)")
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return view(shape: order.map { shape[$0] }, strides: order.map { strides[$0] }).recorded("permute", [self]) { g in
            [g.permuted(inverse)]
        }
    }

    /// Two dimensions swapped (default: the last two). A view.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(a < 0 ? rank + a : a, b < 0 ? rank + b : b)
        return permuted(order)
    }

    /// Elements [start, start+length) along `axis`. A view.
    public func slice(axis: Int, start: Int, length: Int) -> Tensor {
        let ax = axis < 0 ? rank + axis : axis
        if let problem = ShapeRules.slice(shape, axis: ax, start: start, length: length) { preconditionFailure(problem) }
        var newShape = shape
        newShape[ax] = length
        let fullShape = shape
        return view(shape: newShape, strides: strides, offset: offset + start * strides[ax]).recorded("slice", [self]) { g in
            let full = Tensor(shape: fullShape, zeroed: true)
            copyStrided(from: g, to: full.view(shape: newShape, strides: full.strides, offset: start * full.strides[ax]))
            return [full]
        }
    }

    /// Equal or given-size pieces along `axis` (views).
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return slice(axis: axis, start: start, length: n)
        }
    }
}

/// Tensors joined along `axis` (a copy). Shapes must agree elsewhere.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    guard let first = tensors.first else { preconditionFailure("concat: no tensors") }
    let ax = axis < 0 ? first.rank + axis : axis
    if let problem = ShapeRules.concat(tensors.map(\.shape), axis: ax) { preconditionFailure(problem) }
    var shape = tensors[0].shape
    shape[ax] = tensors.map { $0.shape[ax] }.reduce(0, +)
    let out = Tensor(shape: shape)
    var start = 0
    var sizes: [Int] = []
    for t in tensors {
        copyStrided(from: t, to: out.view(shape: t.shape, strides: out.strides, offset: start * out.strides[ax]))
        start += t.shape[ax]
        sizes.append(t.shape[ax])
    }
    return out.recorded("concat", tensors) { g in g.split(axis: ax, sizes: sizes).map { $0.contiguousCopy() } }
}

/// Copies `source` (any strides) into `destination` (any strides, same shape).
func copyStrided(from source: Tensor, to destination: Tensor) {
    precondition(source.shape == destination.shape)
    if source.isContiguous && destination.isContiguous {
        destination.data.update(from: source.data, count: source.count)
        return
    }
    forEachIndex(source.shape, source.strides, destination.strides) { s, d in
        destination.storage.floats[destination.offset + d] = source.storage.floats[source.offset + s]
    }
}

/// Copies `source` (any strides) into contiguous memory at `destination`.
func copyStrided(from source: Tensor, to destination: UnsafeMutablePointer<Float>) {
    if source.isContiguous {
        destination.update(from: source.data, count: source.count)
        return
    }
    var i = 0
    forEachIndex(source.shape, source.strides, Tensor.contiguousStrides(source.shape)) { s, _ in
        destination[i] = source.storage.floats[source.offset + s]
        i += 1
    }
}

/// Calls `body(offsetA, offsetB)` for every index of `shape` in row-major order,
/// with offsets computed from two stride vectors. The innermost dimension runs as a tight loop.
@inline(__always)
func forEachIndex(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int], _ body: (Int, Int) -> Void) {
    let rank = shape.count
    if rank == 0 { body(0, 0); return }
    if shape.contains(0) { return }
    var index = [Int](repeating: 0, count: rank)
    let inner = shape[rank - 1], sa = stridesA[rank - 1], sb = stridesB[rank - 1]
    var a = 0, b = 0
    while true {
        for j in 0..<inner { body(a + j * sa, b + j * sb) }
        var d = rank - 2
        while d >= 0 {
            index[d] += 1
            a += stridesA[d]
            b += stridesB[d]
            if index[d] < shape[d] { break }
            a -= stridesA[d] * shape[d]
            b -= stridesB[d] * shape[d]
            index[d] = 0
            d -= 1
        }
        if d < 0 { return }
    }
}
