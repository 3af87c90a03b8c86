// Vectorised kernels on SIMD8<Float>: exp (Cephes' polynomial, ≤ 2 ulp on
// [-87, 88]), and the loops that apply a SIMD function over buffers, with the
// tail handled by a zero-padded vector. No float→int conversion traps: the
// exponent is built with the 1.5·2²³ magic-number trick.

public typealias F8 = SIMD8<Float>

@inline(__always)
public func exp8(_ x: F8) -> F8 {
    let hi = F8(repeating: 88.3762626647949), lo = F8(repeating: -87.3365447505531)
    var v = x.replacing(with: hi, where: x .> hi)
    v.replace(with: lo, where: x .< lo)
    // Round to nearest by adding and removing 1.5·2²³ (vector adds; SIMD.rounded() is scalarised).
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
    result.replace(with: x, where: x .!= x)  // NaN stays NaN
    return result
}

/// 1 / (1 + e^-x).
@inline(__always)
public func sigmoid8(_ x: F8) -> F8 { 1 / (1 + exp8(-x)) }

/// tanh through exp: 1 - 2 / (e^{2x} + 1); exact limits at ±∞.
@inline(__always)
public func tanh8(_ x: F8) -> F8 {
    let e = exp8(x + x)
    var t = 1 - 2 / (e + 1)
    t.replace(with: x, where: (x .< 1e-4) .& (x .> -1e-4))  // tanh x ≈ x, avoids cancellation
    return t
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> F8 {
    UnsafeRawPointer(p).loadUnaligned(as: F8.self)
}

@inline(__always) func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
}

@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> F8 {
    var v = F8()
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always) func storePartial(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

/// out[i] = f(x[i]) for i in range, 8 at a time.
@inline(__always)
func map8(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ f: (F8) -> F8) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        store8(f(load8(x + i)), out + i)
        i += 8
    }
    if i < range.upperBound { storePartial(f(loadPartial(x + i, range.upperBound - i)), out + i, range.upperBound - i) }
}

/// out[i] = f(a[i], b[i]) for i in range, 8 at a time.
@inline(__always)
func map8(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>,
          _ f: (F8, F8) -> F8) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        store8(f(load8(a + i), load8(b + i)), out + i)
        i += 8
    }
    let n = range.upperBound - i
    if n > 0 { storePartial(f(loadPartial(a + i, n), loadPartial(b + i, n)), out + i, n) }
}

/// out[i] = f(a[i], b[i], c[i]) for i in range, 8 at a time.
@inline(__always)
func map8(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
          _ range: Range<Int>, _ f: (F8, F8, F8) -> F8) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        store8(f(load8(a + i), load8(b + i), load8(c + i)), out + i)
        i += 8
    }
    let n = range.upperBound - i
    if n > 0 { storePartial(f(loadPartial(a + i, n), loadPartial(b + i, n), loadPartial(c + i, n)), out + i, n) }
}

/// Σ f(x[i]) over range in double-width partial sums (8 lanes of Float, then Double).
@inline(__always)
func sum8(_ x: UnsafePointer<Float>, _ range: Range<Int>, _ f: (F8) -> F8) -> Float {
    var acc = F8()
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        acc += f(load8(x + i))
        i += 8
    }
    var total = acc.sum()
    while i < range.upperBound {
        total += f(F8(repeating: x[i]))[0]
        i += 1
    }
    return total
}

/// max over range.
@inline(__always)
func max8(_ x: UnsafePointer<Float>, _ range: Range<Int>) -> Float {
    var acc = F8(repeating: -.infinity)
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        let v = load8(x + i)
        acc.replace(with: v, where: v .> acc)  // pointwiseMax is not specialised here: a generic call per vector
        i += 8
    }
    var m = acc.max()
    while i < range.upperBound {
        m = Swift.max(m, x[i])
        i += 1
    }
    return m
}
