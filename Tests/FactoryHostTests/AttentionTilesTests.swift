import AttentionTiles
import XCTest

/// AttentionTiles' AVX-512 tile product gives the same bits as the attention kit's AVX2 loop: per element,
/// a start from C (or 0) and one fused multiply-add per k in order, except the last N mod 8 columns, which
/// multiply and then add. Checked exactly against that recipe on tiles of every edge shape.
final class AttentionTilesTests: XCTestCase {
    func testTheAVX512ProductGivesTheKitsBits() throws {
        guard fat_has_avx512() == 1 else {
            print("SKIPPED testTheAVX512ProductGivesTheKitsBits: this CPU has no AVX-512F (the kit's AVX2 loop runs instead)")
            throw XCTSkip("no AVX-512F")
        }
        var rng = SystemRandomNumberGenerator()
        for (M, N, K) in [(8, 32, 64), (13, 64, 64), (7, 45, 17), (64, 64, 64), (1, 5, 3), (9, 24, 1), (3, 71, 33)] {
            for accumulate in [false, true] {
                let lda = K + 3, ldb = N + 5, ldc = N + 2
                let a = (0..<(M * lda)).map { _ in Float.random(in: -2...2, using: &rng) }
                let b = (0..<(K * ldb)).map { _ in Float.random(in: -2...2, using: &rng) }
                let c0 = (0..<(M * ldc)).map { _ in Float.random(in: -2...2, using: &rng) }
                var want = c0
                let fused = N / 8 * 8
                for i in 0..<M {
                    for j in 0..<N {
                        var s: Float = accumulate ? c0[i * ldc + j] : 0
                        for k in 0..<K {
                            if j < fused { s = s.addingProduct(a[i * lda + k], b[k * ldb + j]) } else { let p = a[i * lda + k] * b[k * ldb + j]; s = s + p }
                        }
                        want[i * ldc + j] = s
                    }
                }
                var got = c0
                fat_gemm_avx512(M, N, K, a, lda, b, ldb, &got, ldc, accumulate ? 1 : 0)
                for i in 0..<M {
                    for j in 0..<ldc {
                        let index = i * ldc + j
                        XCTAssertEqual(got[index].bitPattern, (j < N ? want : c0)[index].bitPattern,
                                       "\(M)x\(N)x\(K) accumulate \(accumulate): C[\(i)][\(j)] = \(got[index]), the kit's recipe gives \((j < N ? want : c0)[index])")
                    }
                }
            }
        }
    }
}
