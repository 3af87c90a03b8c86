import CBF16Gemm
@testable import FactoryEngine
import XCTest

/// bf16 products (`bf16: true`): oneDNN must return exactly what fp32 accumulation of the bf16-rounded
/// operands gives (a bf16 × bf16 product is exact in fp32, so only the summation order differs), on a CPU
/// that emulates bf16 as on one that has it.
final class BF16ProductsTests: XCTestCase {
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) }
    }

    func rounded(_ v: Float) -> Double { Double(Float(bitPattern: UInt32(bf16Bits(v)) << 16)) }

    /// op(A)·op(B) in double from bf16-rounded (or, with round false, exact) operands; A stored M×K (K×M when aT).
    func reference(_ a: [Float], _ b: [Float], M: Int, K: Int, N: Int, aT: Bool, bT: Bool, round: Bool = true) -> [Double] {
        let r: (Float) -> Double = round ? rounded : { Double($0) }
        var out = [Double](repeating: 0, count: M * N)
        for i in 0..<M {
            for j in 0..<N {
                var s = 0.0
                for k in 0..<K { s += r(aT ? a[k * M + i] : a[i * K + k]) * r(bT ? b[j * K + k] : b[k * N + j]) }
                out[i * N + j] = s
            }
        }
        return out
    }

    func worst(_ got: [Float], _ want: [Double]) -> Double {
        let scale = want.map(abs).max() ?? 1
        return zip(got, want).map { abs(Double($0) - $1) }.max()! / scale
    }

    func withBF16<T>(frozen: [Tensor] = [], _ body: (BF16Products) throws -> T) rethrows -> T {
        let context = ExecutionContext.current.derived()
        let products = BF16Products(frozen: frozen, warn: { XCTFail("unexpected warning: \($0)") })
        context.bf16 = products
        return try context.run { try body(products) }
    }

    func testProductsAreThoseOfTheRoundedOperandsForEveryTranspose() {
        let (M, K, N) = (37, 70, 45)
        for (aT, bT) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = values(M * K, seed: 1), b = values(K * N, seed: 2)
            let ta = aT ? Tensor(shape: [K, M], values: a).transposed() : Tensor(shape: [M, K], values: a)
            let tb = bT ? Tensor(shape: [N, K], values: b).transposed() : Tensor(shape: [K, N], values: b)
            let got = withBF16 { _ in matmul(ta, tb).values }
            let want = reference(a, b, M: M, K: K, N: N, aT: aT, bT: bT)
            XCTAssertLessThan(worst(got, want), 1e-6, "aT \(aT) bT \(bT)")
            // and they are bf16's, not float32's: the exact product is ~1e-3 away somewhere
            XCTAssertGreaterThan(worst(got, reference(a, b, M: M, K: K, N: N, aT: aT, bT: bT, round: false)), 1e-4, "aT \(aT) bT \(bT)")
        }
    }

    func testGradientsAreBF16ProductsToo() {
        let (M, K, N) = (24, 40, 32)
        let a = values(M * K, seed: 3), b = values(K * N, seed: 4), g = values(M * N, seed: 5)
        let ta = Tensor(shape: [M, K], values: a).requiringGrad(), tb = Tensor(shape: [K, N], values: b).requiringGrad()
        withBF16 { _ in
            let y = matmul(ta, tb)
            sum(mul(y, Tensor(shape: [M, N], values: g))).backward()
        }
        // dA = g · Bᵀ and dB = Aᵀ · g, each from rounded operands
        XCTAssertLessThan(worst(ta.grad!.values, reference(g, b, M: M, K: N, N: K, aT: false, bT: true)), 1e-6)
        XCTAssertLessThan(worst(tb.grad!.values, reference(a, g, M: K, K: M, N: N, aT: true, bT: false)), 1e-6)
    }

    func testAccumulatingProductAddsToWhatIsThere() {
        let (M, K, N) = (20, 33, 18), ldc = 21
        let a = values(M * K, seed: 6), b = values(K * N, seed: 7)
        var c = values(M * ldc, seed: 8)
        let before = c
        withBF16 { _ in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(transA: false, transB: false, M: M, N: N, K: K, alpha: 0.5, ap.baseAddress!, lda: K, bp.baseAddress!, ldb: N,
                             beta: 2, cp.baseAddress!, ldc: ldc)
                    }
                }
            }
        }
        let product = reference(a, b, M: M, K: K, N: N, aT: false, bT: false)
        for i in 0..<M {
            for j in 0..<ldc {
                let got = Double(c[i * ldc + j])
                if j < N {
                    XCTAssertEqual(got, 0.5 * product[i * N + j] + 2 * Double(before[i * ldc + j]), accuracy: 1e-5, "(\(i), \(j))")
                } else {
                    XCTAssertEqual(c[i * ldc + j], before[i * ldc + j], "padding (\(i), \(j)) was written")
                }
            }
        }
    }

    func testFrozenWeightIsRoundedOnceAndGivesTheSameBits() {
        let (M, K, N) = (32, 48, 40)
        let x = Tensor(shape: [M, K], values: values(M * K, seed: 9))
        let w = Tensor(shape: [N, K], values: values(N * K, seed: 10))
        let fresh = withBF16 { _ in linear(x, w).values }
        let (first, second, bytes) = withBF16(frozen: [w]) { products in
            (linear(x, w).values, linear(x, w).values, products.copiedBytes)
        }
        XCTAssertEqual(bytes, N * K * 2, "one bf16 copy of the frozen weight")
        XCTAssertEqual(first, fresh)
        XCTAssertEqual(second, fresh)
    }

    func testSmallProductsAndContextsWithoutBF16StayFloat32() {
        let x = Tensor(shape: [32, 64], values: values(32 * 64, seed: 11))
        let lowRank = Tensor(shape: [8, 64], values: values(8 * 64, seed: 12))  // a LoRA A of rank 8
        let wide = Tensor(shape: [64, 64], values: values(64 * 64, seed: 13))
        XCTAssertEqual(withBF16 { _ in linear(x, lowRank).values }, linear(x, lowRank).values)
        XCTAssertNotEqual(withBF16 { _ in linear(x, wide).values }, linear(x, wide).values)
    }

    func testRoundingMatchesTheEngineBF16Bits() {
        var edge: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                             .leastNonzeroMagnitude, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),
                             Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0x7FFF_FFFF), Float(bitPattern: 0x3F80_7FFF)]
        edge += values(1000, seed: 14).map { $0 * 1e3 }
        var out = [UInt16](repeating: 0, count: edge.count)
        fbg_to_bf16(edge, 1, edge.count, edge.count, &out)
        for (v, bits) in zip(edge, out) {
            let want = bf16Bits(v)
            if v.isNaN {
                XCTAssertTrue(Float(bitPattern: UInt32(bits) << 16).isNaN, "NaN \(v.bitPattern) became \(bits)")
            } else {
                XCTAssertEqual(bits, want, "\(v) (\(String(v.bitPattern, radix: 16)))")
            }
        }
    }
}
