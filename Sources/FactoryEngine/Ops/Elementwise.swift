// add, sub, mul, div with NumPy broadcasting; scale; neg. Backward reduces
// the output gradient back to each input's shape (sumTo).

enum BinaryOp {
    case add, sub, mul, div

    @inline(__always) func apply(_ a: F8, _ b: F8) -> F8 {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }

    @inline(__always) func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }
}

/// The broadcast shape of two shapes (NumPy rules, ShapeRules.broadcast), or a precondition failure naming both.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    return (0..<rank).map { i in
        let x = i - (rank - a.count) >= 0 ? a[i - (rank - a.count)] : 1
        let y = i - (rank - b.count) >= 0 ? b[i - (rank - b.count)] : 1
        if x != y && x != 1 && y != 1 { preconditionFailure(ShapeRules.broadcast("broadcast", a, b) ?? "") }
        return max(x, y)
    }
}

/// Strides that read `t` as if it had shape `shape` (0 along broadcast dimensions).
func broadcastStrides(_ t: Tensor, to shape: [Int]) -> [Int] {
    let pad = shape.count - t.rank
    return (0..<shape.count).map { i in
        i < pad || t.shape[i - pad] == 1 ? 0 : t.strides[i - pad]
    }
}

func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
    let out = Tensor(shape: shape)
    let o = out.data
    if a.shape == shape && b.shape == shape && a.isContiguous && b.isContiguous {
        let x = a.data, y = b.data
        parallelFor(out.count) { r in map8(x, y, o, r) { op.apply($0, $1) } }
    } else if b.count == 1 && a.shape == shape && a.isContiguous {
        let x = a.data, s = F8(repeating: b.data[0])
        parallelFor(out.count) { r in map8(x, o, r) { op.apply($0, s) } }
    } else if a.shape == shape && a.isContiguous && b.isContiguous && isSuffixBroadcast(b.shape, of: shape) {
        let x = a.data, y = b.data, n = max(b.count, 1), rows = out.count / n
        parallelFor(rows, grain: max(1, 16384 / n)) { rr in
            for row in rr { map8(x + row * n, y, o + row * n, 0..<n) { op.apply($0, $1) } }
        }
    } else {
        let sa = broadcastStrides(a, to: shape), sb = broadcastStrides(b, to: shape)
        let pa = a.data, pb = b.data
        var i = 0
        forEachIndex(shape, sa, sb) { ia, ib in
            o[i] = op.apply(pa[ia], pb[ib])
            i += 1
        }
    }
    let aShape = a.shape, bShape = b.shape
    return out.recorded("\(op)", [a, b]) { g in
        switch op {
        case .add: return [sumTo(g, aShape), sumTo(g, bShape)]
        case .sub: return [sumTo(g, aShape), sumTo(neg(g), bShape)]
        case .mul: return [a.requiresGrad ? sumTo(mul(g, b), aShape) : nil, b.requiresGrad ? sumTo(mul(g, a), bShape) : nil]
        case .div:
            return [a.requiresGrad ? sumTo(div(g, b), aShape) : nil,
                    b.requiresGrad ? sumTo(neg(div(mul(g, a), mul(b, b))), bShape) : nil]
        }
    }
}

/// True when `small` (without leading 1s) equals the trailing dimensions of `shape`.
func isSuffixBroadcast(_ small: [Int], of shape: [Int]) -> Bool {
    var s = small[...]
    while s.first == 1 && s.count > 0 { s = s.dropFirst() }
    return s.count <= shape.count && Array(shape.suffix(s.count)) == Array(s)
}

public func add(_ a: Tensor, _ b: Tensor) -> Tensor { binary(a, b, .add) }
public func sub(_ a: Tensor, _ b: Tensor) -> Tensor { binary(a, b, .sub) }
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor { binary(a, b, .mul) }
public func div(_ a: Tensor, _ b: Tensor) -> Tensor { binary(a, b, .div) }

/// x · s for a constant s.
public func scale(_ x: Tensor, _ s: Float) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data, v = F8(repeating: s)
    parallelFor(out.count) { r in map8(p, o, r) { $0 * v } }
    return out.recorded("scale", [src]) { g in [scale(g, s)] }
}

/// -x.
public func neg(_ x: Tensor) -> Tensor { scale(x, -1) }

/// x + s for a constant s.
public func addScalar(_ x: Tensor, _ s: Float) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data, v = F8(repeating: s)
    parallelFor(out.count) { r in map8(p, o, r) { $0 + v } }
    return out.recorded("add_scalar", [src]) { g in [g] }
}

/// Sums `g` over the dimensions that were broadcast to reach g's shape from `shape`.
public func sumTo(_ g: Tensor, _ shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let out = Tensor(shape: shape, zeroed: true)
    let src = g.contiguous()
    let o = out.data, p = src.data
    if isSuffixBroadcast(shape, of: g.shape) {
        let n = max(out.count, 1), rows = src.count / n
        for row in 0..<rows { map8(o, p + row * n, o, 0..<n) { $0 + $1 } }
        return out
    }
    let so = broadcastStrides(out, to: src.shape)
    var i = 0
    forEachIndex(src.shape, Tensor.contiguousStrides(src.shape), so) { _, io in
        o[io] += p[i]
        i += 1
    }
    return out
}

/// dst += src elementwise (same element count, dst contiguous). Not recorded.
func addInPlace(_ dst: Tensor, _ src: Tensor) {
    let s = src.contiguous()
    let d = dst.data, p = s.data
    parallelFor(dst.count) { r in map8(d, p, d, r) { $0 + $1 } }
}
