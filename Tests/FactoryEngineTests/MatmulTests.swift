import FactoryEngine
import XCTest

final class MatmulTests: XCTestCase {
    func referenceMatmul(_ a: [Double], _ b: [Double], batch: Int, M: Int, K: Int, N: Int, sharedB: Bool,
                         aT: Bool = false, bT: Bool = false) -> [Double] {
        var out = [Double](repeating: 0, count: batch * M * N)
        for p in 0..<batch {
            for i in 0..<M {
                for j in 0..<N {
                    var s = 0.0
                    for k in 0..<K {
                        let av = aT ? a[p * M * K + k * M + i] : a[p * M * K + i * K + k]
                        let bo = sharedB ? 0 : p * K * N
                        let bv = bT ? b[bo + j * K + k] : b[bo + k * N + j]
                        s += av * bv
                    }
                    out[(p * M + i) * N + j] = s
                }
            }
        }
        return out
    }

    func testMatmulOverOddShapes() {
        for (M, K, N) in [(1, 1, 1), (3, 17, 1), (17, 64, 3), (1, 577, 17), (64, 3, 577)] {
            checkOp(OpCase(name: "matmul", shapes: [[M, K], [K, N]], engine: { matmul($0[0], $0[1]) },
                           reference: { self.referenceMatmul($0[0], $0[1], batch: 1, M: M, K: K, N: N, sharedB: true) },
                           forwardTolerance: 1e-5, samples: 12))
        }
    }

    func testBatchedMatmulWithSharedAndPerBatchWeights() {
        checkOp(OpCase(name: "batched shared", shapes: [[2, 3, 5, 17], [17, 4]], engine: { matmul($0[0], $0[1]) },
                       reference: { self.referenceMatmul($0[0], $0[1], batch: 6, M: 5, K: 17, N: 4, sharedB: true) }, forwardTolerance: 1e-5))
        checkOp(OpCase(name: "batched", shapes: [[3, 5, 17], [3, 17, 4]], engine: { matmul($0[0], $0[1]) },
                       reference: { self.referenceMatmul($0[0], $0[1], batch: 3, M: 5, K: 17, N: 4, sharedB: false) }, forwardTolerance: 1e-5))
    }

    func testTransposedViewsGoThroughTheFlags() {
        // a stored [K, M], read as its transpose; b stored [N, K] (a weight), read transposed: linear().
        checkOp(OpCase(name: "aᵀ·bᵀ", shapes: [[17, 3], [5, 17]], engine: { matmul($0[0].transposed(), $0[1].transposed()) },
                       reference: { self.referenceMatmul($0[0], $0[1], batch: 1, M: 3, K: 17, N: 5, sharedB: true, aT: true, bT: true) },
                       forwardTolerance: 1e-5))
        checkOp(OpCase(name: "linear", shapes: [[2, 3, 64], [17, 64], [17]], engine: { linear($0[0], $0[1], bias: $0[2]) },
                       reference: { x in
                           let y = self.referenceMatmul(x[0], x[1], batch: 1, M: 6, K: 64, N: 17, sharedB: true, bT: true)
                           return y.enumerated().map { $0.element + x[2][$0.offset % 17] }
                       }, forwardTolerance: 1e-5))
    }

    func testATransposedViewIsNotCopied() {
        let w = Tensor(shape: [4, 3], values: (0..<12).map(Float.init))
        let t = w.transposed()
        XCTAssertTrue(t.storage === w.storage)
        XCTAssertFalse(t.isContiguous)
        XCTAssertEqual(matmul(Tensor(shape: [1, 4], values: [1, 0, 0, 0]), w).values, [0, 1, 2])
        XCTAssertEqual(matmul(Tensor(shape: [1, 3], values: [1, 0, 0]), t).values, [0, 3, 6, 9])
    }
}
