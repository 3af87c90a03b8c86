import FactoryEngine
import Foundation
import XCTest

/// The AVX-512 row kernels against the SIMD8 ones and libm, on what the oracle's random rows do not
/// reach: every tail length, the exp's whole range and its limits, rows of −inf and NaN. (The oracle
/// tests in NormSoftmaxTests and ElementwiseTests run both paths against Double references too.)
final class RowKernelsTests: XCTestCase {
    override func tearDown() { RowKernels.usesWide = true }

    /// exp(x) for every x on both paths through expShiftScale (shift 0, scale 1).
    func exps(_ xs: [Float]) -> [Float] {
        var out = [Float](repeating: -1, count: xs.count)
        xs.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { expShiftScale(x.baseAddress!, shift: 0, scale: 1, $0.baseAddress!, xs.count) } }
        return out
    }

    func testExpMatchesLibmAndKeepsItsLimitsOnBothPaths() {
        onEveryRowKernelPath { path in
            let xs = stride(from: Float(-87), to: 88, by: 0.0137).map { $0 }
            let worst = zip(xs, exps(xs)).map { x, v in Float(abs(Double(v) - Foundation.exp(Double(x))) / Foundation.exp(Double(x))) }.max()!
            XCTAssertLessThan(worst, 4e-7, "\(path): exp relative error")
            let limits = exps([-.infinity, -100, -87.5, 88.5, .infinity, .nan, 0])
            XCTAssertEqual(Array(limits[0..<5]), [0, 0, 0, .infinity, .infinity], path)
            XCTAssertTrue(limits[5].isNaN, path)
            XCTAssertEqual(limits[6], 1, path)
        }
    }

    /// Every op's output and gradients on the AVX-512 path agree with the SIMD8 path's to float rounding
    /// (relative to the largest element), for every row length from 1 to 40 (all tails of both vector
    /// widths) and a long row.
    func testTheWidePathAgreesWithTheSIMD8PathAtEveryTailLength() throws {
        guard RowKernels.wideAvailable else { throw XCTSkip("NOTE: this CPU has no AVX-512 F/DQ: nothing to compare") }
        var rng = Uniform(state: 7)
        for n in Array(1...40) + [577] {
            let rows = 3
            let a = (0..<rows * n).map { _ in Float(rng.next() * 9) }, b = (0..<rows * n).map { _ in Float(rng.next() * 3) }
            let w = (0..<n).map { _ in Float(rng.next()) }
            let labels = (0..<rows).map { ($0 * 7) % n }
            let ops: [(String, ([Tensor]) -> Tensor)] = [
                ("softmax", { softmax($0[0]) }), ("log_softmax", { logSoftmax($0[0]) }),
                ("cross_entropy", { crossEntropy($0[0], labels: labels) }), ("silu", { silu($0[0]) }),
                ("swiglu", { swiglu($0[0], $0[1]) }), ("rms_norm", { rmsNorm($0[0], weight: $0[2], eps: 1e-6) }),
            ]
            for (name, op) in ops {
                func run(wide: Bool) -> [[Float]] {
                    RowKernels.usesWide = wide
                    let inputs = [Tensor(shape: [rows, n], values: a), Tensor(shape: [rows, n], values: b), Tensor(shape: [n], values: w)]
                        .map { $0.requiringGrad() }
                    let y = op(inputs)
                    let weights = Tensor(shape: y.shape, values: (0..<y.count).map { Float($0 % 5) - 2 })
                    sum(mul(y, weights)).backward()
                    return [y.values] + inputs.map { $0.grad?.values ?? [] }
                }
                let simd8 = run(wide: false), avx512 = run(wide: true)
                for (k, (x, y)) in zip(simd8, avx512).enumerated() {
                    let error = maxRelativeError(x.map(Double.init), y.map(Double.init))
                    // gradients go through differences (softmax's g − Σ y·g) that turn a last-bit difference of the
                    // exp into a few millionths of the largest gradient
                    XCTAssertLessThanOrEqual(error, k == 0 ? 2e-6 : 1e-5, "\(name), n = \(n), \(k == 0 ? "output" : "gradient \(k - 1)")")
                }
            }
        }
    }

    func testRowsOfMinusInfinityAndNaNBehaveAlikeOnBothPaths() {
        onEveryRowKernelPath { path in
            for n in [1, 5, 16, 21] {
                let dead = softmax(Tensor(shape: [1, n], values: [Float](repeating: -.infinity, count: n)))
                XCTAssertEqual(dead.values, [Float](repeating: 0, count: n), "\(path): softmax of −inf, n = \(n)")
                let lse = [Float](repeating: -.infinity, count: n).withUnsafeBufferPointer { logSumExp($0.baseAddress!, n) }
                XCTAssertEqual(lse, -.infinity, "\(path): log-sum-exp of −inf, n = \(n)")
                guard n > 1 else { continue }  // a lone NaN leaves the row no maximum: neither rule below applies
                var poisoned = (0..<n).map { Float($0) }
                poisoned[n / 2] = .nan
                XCTAssertTrue(softmax(Tensor(shape: [1, n], values: poisoned)).values.allSatisfy(\.isNaN), "\(path): a NaN spreads over its row")
                let masked = (0..<n).map { $0 == n - 1 ? Float(2) : -.infinity }
                XCTAssertEqual(softmax(Tensor(shape: [1, n], values: masked)).values.last, 1, "\(path): one visible key")
            }
        }
    }
}
