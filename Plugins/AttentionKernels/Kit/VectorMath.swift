// Vectorised exp and tanh for softmax and soft-capping (Cephes' polynomial, ≤ 2 ulp on [-87, 88];
// the exponent built with the 1.5·2²³ magic-number trick, so no float→int conversion can trap).

@inline(__always)
public func exp8(_ x: F8) -> F8 {
    let hi = F8(repeating: 88.3762626647949), lo = F8(repeating: -87.3365447505531)
    var v = x.replacing(with: hi, where: x .> hi)
    v.replace(with: lo, where: x .< lo)
    let magic = F8(repeating: 12582912)
    let n = (v * 1.44269504088896341 + magic) - magic
    var r = v - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = F8(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let shifted = unsafeBitCast(n + magic, to: SIMD8<UInt32>.self)
    let bits = (shifted &- unsafeBitCast(magic, to: SIMD8<UInt32>.self) &+ 127) &<< 23
    var result = p * unsafeBitCast(bits, to: F8.self)
    result.replace(with: 0, where: x .< lo)
    result.replace(with: F8(repeating: .infinity), where: x .> hi)
    return result
}

/// tanh through exp: 1 − 2 / (e^{2x} + 1); x itself near 0 (no cancellation).
@inline(__always)
public func tanh8(_ x: F8) -> F8 {
    let e = exp8(x + x)
    var t = 1 - 2 / (e + 1)
    t.replace(with: x, where: (x .< 1e-4) .& (x .> -1e-4))
    return t
}

/// Applies `f` to x[0..<n] in place, 8 at a time (the tail through a padded vector).
@inline(__always)
public func apply8(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8) -> F8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(x + i)), x + i)
        i += 8
    }
    if i < n {
        var v = F8()
        for j in 0..<(n - i) { v[j] = x[i + j] }
        let r = f(v)
        for j in 0..<(n - i) { x[i + j] = r[j] }
    }
}

/// max of x[0..<n] (−∞ for n = 0).
@inline(__always)
public func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = F8(repeating: -.infinity)
    var i = 0
    while i + 8 <= n {
        let v = load8(x + i)
        acc.replace(with: v, where: v .> acc)
        i += 8
    }
    var m = acc.max()
    while i < n {
        m = max(m, x[i])
        i += 1
    }
    return m
}

/// x[j] ← exp(x[j] − shift) for j < n; returns their sum. −∞ entries become 0.
@inline(__always)
public func expShiftedSum(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
    let s = F8(repeating: shift)
    var acc = F8()
    var i = 0
    while i + 8 <= n {
        let e = exp8(load8(x + i) - s)
        store8(e, x + i)
        acc += e
        i += 8
    }
    var total = acc.sum()
    while i < n {
        let e = exp8(F8(repeating: x[i] - shift))[0]
        x[i] = e
        total += e
        i += 1
    }
    return total
}

/// Σ a[j]·b[j] for j < n.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = F8()
    var i = 0
    while i + 8 <= n {
        acc = acc.addingProduct(load8(a + i), load8(b + i))
        i += 8
    }
    var total = acc.sum()
    while i < n {
        total += a[i] * b[i]
        i += 1
    }
    return total
}
