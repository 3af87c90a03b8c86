import FactoryEngine
import XCTest

/// The oracle for every op (after ggml's test-backend-ops and llm.c's tests):
/// the forward against a naive Double reference loop, and the backward against
/// central finite differences of that Double reference. The loss is Σ R·y for
/// a fixed random R, so every output element's gradient matters.
struct OpCase {
    var name: String
    var shapes: [[Int]]
    /// The engine's op.
    var engine: ([Tensor]) -> Tensor
    /// A naive reference: inputs (row-major Doubles) → output (row-major).
    var reference: ([[Double]]) -> [Double]
    /// Which inputs get gradients checked (default: all).
    var differentiable: [Int]? = nil
    /// Maps a uniform [-1, 1) sample to the input's domain (e.g. away from 0 for division).
    var domain: (Int, Double) -> Double = { _, x in x }
    var forwardTolerance: Double = 2e-6
    var gradientTolerance: Double = 2e-4
    /// How many elements per input get a finite-difference check.
    var samples: Int = 24
}

/// Deterministic uniform numbers in [-1, 1).
struct Uniform {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
}

func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    var worst = 0.0, scale = 1e-3
    for (x, y) in zip(a, b) {
        worst = max(worst, abs(x - y))
        scale = max(scale, abs(y))
    }
    return worst / scale
}

func checkOp(_ c: OpCase, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
    var rng = Uniform(state: seed &* 0x9E37_79B9_7F4A_7C15 &+ 17)
    let inputs: [[Double]] = c.shapes.enumerated().map { k, shape in
        (0..<shape.reduce(1, *)).map { _ in c.domain(k, rng.next()) }
    }
    // Round inputs to Float so both sides see identical values.
    let rounded = inputs.map { $0.map { Double(Float($0)) } }
    let differentiable = c.differentiable ?? Array(c.shapes.indices)
    let tensors = zip(c.shapes, rounded).enumerated().map { k, pair in
        Tensor(shape: pair.0, values: pair.1.map(Float.init)).requiringGrad(differentiable.contains(k))
    }
    let y = c.engine(tensors)
    let expected = c.reference(rounded)
    XCTAssertEqual(y.count, expected.count, "\(c.name): output size", file: file, line: line)
    let forwardError = maxRelativeError(y.values.map(Double.init), expected)
    XCTAssertLessThanOrEqual(forwardError, c.forwardTolerance, "\(c.name) \(c.shapes): forward error", file: file, line: line)

    let weights = (0..<y.count).map { _ in Double(Float(rng.next())) }
    let loss = sum(mul(y, Tensor(shape: y.shape, values: weights.map(Float.init))))
    loss.backward()
    func objective(_ xs: [[Double]]) -> Double {
        zip(c.reference(xs), weights).reduce(0) { $0 + $1.0 * $1.1 }
    }
    for k in differentiable {
        guard let grad = tensors[k].grad?.values else {
            XCTFail("\(c.name): input \(k) got no gradient", file: file, line: line)
            continue
        }
        let n = rounded[k].count
        let picks = n <= c.samples ? Array(0..<n) : (0..<c.samples).map { _ in Int((rng.next() + 1) / 2 * Double(n)) % n }
        var numeric: [Double] = [], analytic: [Double] = []
        for e in picks {
            var plus = rounded, minus = rounded
            let h = 1e-6 * max(1, abs(rounded[k][e]))
            plus[k][e] += h
            minus[k][e] -= h
            numeric.append((objective(plus) - objective(minus)) / (2 * h))
            analytic.append(Double(grad[e]))
        }
        let error = maxRelativeError(analytic, numeric)
        XCTAssertLessThanOrEqual(error, c.gradientTolerance, "\(c.name) \(c.shapes): gradient of input \(k)", file: file, line: line)
    }
}

/// Row-major index helpers for references.
func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
    return s
}

/// Naive broadcast of a binary function (NumPy rules).
func referenceBroadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double) -> [Double] {
    let rank = max(sa.count, sb.count)
    let pa = [Int](repeating: 1, count: rank - sa.count) + sa, pb = [Int](repeating: 1, count: rank - sb.count) + sb
    let shape = zip(pa, pb).map { max($0, $1) }
    let so = strides(shape), sta = strides(pa), stb = strides(pb)
    return (0..<shape.reduce(1, *)).map { i in
        var ia = 0, ib = 0
        for d in 0..<rank {
            let idx = (i / so[d]) % shape[d]
            ia += (pa[d] == 1 ? 0 : idx) * sta[d]
            ib += (pb[d] == 1 ? 0 : idx) * stb[d]
        }
        return f(a[ia], b[ib])
    }
}

/// Runs `body` on the portable SIMD8 row kernels, then on the AVX-512 ones where the CPU has them (saying
/// so loudly where it does not), with the path's name ("simd8", "avx512"); leaves the default on.
func onEveryRowKernelPath(_ body: (String) -> Void) {
    defer { RowKernels.usesWide = true }
    RowKernels.usesWide = false
    body(RowKernels.name)
    guard RowKernels.wideAvailable else {
        print("NOTE: this CPU has no AVX-512 F/DQ: the AVX-512 row kernels are not tested on this machine")
        return
    }
    RowKernels.usesWide = true
    body(RowKernels.name)
}
