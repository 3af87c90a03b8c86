// The one dense product attention kernels need, on tiles that fit in L1/L2: C[M×N] (+)= A[M×K]·B[K×N],
// row-major with leading dimensions, in 6 × 16 register blocks of FMAs (12 accumulators of 8-wide AVX2
// vectors: enough independent chains to cover the FMA latency), 4 × 16 and 1 × 16 at the edges. Each
// thread calls it on its own tiles, so it never touches OpenBLAS's thread pool. On a CPU with AVX-512
// the same product runs in AttentionTiles' C kernel (8 × 32 blocks of 16-wide vectors), element for
// element the same operations in the same order, so both paths give the same bits.
import AttentionTiles

public typealias F8 = SIMD8<Float>

@inline(__always) public func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
@inline(__always) public func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }

/// Whether this CPU runs AttentionTiles' AVX-512 product (the same bits, twice the vector width).
let tilesHaveAVX512 = fat_has_avx512() == 1

/// C[M×N] = (accumulate ? C : 0) + A[M×K] · B[K×N].
public func gemm(_ M: Int, _ N: Int, _ K: Int, _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
                 _ C: UnsafeMutablePointer<Float>, _ ldc: Int, accumulate: Bool) {
    if tilesHaveAVX512 {
        fat_gemm_avx512(M, N, K, A, lda, B, ldb, C, ldc, accumulate ? 1 : 0)
        return
    }
    var j = 0
    while j + 16 <= N {
        var i = 0
        while i + 6 <= M {
            block6x16(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate)
            i += 6
        }
        while i + 4 <= M {
            block4x16(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate)
            i += 4
        }
        while i < M {
            block1x16(K, A + i * lda, B + j, ldb, C + i * ldc + j, accumulate)
            i += 1
        }
        j += 16
    }
    while j + 8 <= N {
        for i in 0..<M { block1x8(K, A + i * lda, B + j, ldb, C + i * ldc + j, accumulate) }
        j += 8
    }
    if j < N {
        for i in 0..<M {
            for c in j..<N {
                var s: Float = accumulate ? C[i * ldc + c] : 0
                for k in 0..<K { s += A[i * lda + k] * B[k * ldb + c] }
                C[i * ldc + c] = s
            }
        }
    }
}

@inline(__always)
func block6x16(_ K: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = F8(), c01 = F8(), c10 = F8(), c11 = F8(), c20 = F8(), c21 = F8()
    var c30 = F8(), c31 = F8(), c40 = F8(), c41 = F8(), c50 = F8(), c51 = F8()
    if accumulate {
        (c00, c01) = (load8(c), load8(c + 8))
        (c10, c11) = (load8(c + ldc), load8(c + ldc + 8))
        (c20, c21) = (load8(c + 2 * ldc), load8(c + 2 * ldc + 8))
        (c30, c31) = (load8(c + 3 * ldc), load8(c + 3 * ldc + 8))
        (c40, c41) = (load8(c + 4 * ldc), load8(c + 4 * ldc + 8))
        (c50, c51) = (load8(c + 5 * ldc), load8(c + 5 * ldc + 8))
    }
    let a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda
    var bp = b
    for k in 0..<K {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var x = F8(repeating: a[k])
        c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = F8(repeating: a1[k])
        c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = F8(repeating: a2[k])
        c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = F8(repeating: a3[k])
        c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        x = F8(repeating: a4[k])
        c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
        x = F8(repeating: a5[k])
        c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        bp += ldb
    }
    store8(c00, c); store8(c01, c + 8)
    store8(c10, c + ldc); store8(c11, c + ldc + 8)
    store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
    store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
    store8(c40, c + 4 * ldc); store8(c41, c + 4 * ldc + 8)
    store8(c50, c + 5 * ldc); store8(c51, c + 5 * ldc + 8)
}

@inline(__always)
func block4x16(_ K: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = F8(), c01 = F8(), c10 = F8(), c11 = F8(), c20 = F8(), c21 = F8(), c30 = F8(), c31 = F8()
    if accumulate {
        (c00, c01) = (load8(c), load8(c + 8))
        (c10, c11) = (load8(c + ldc), load8(c + ldc + 8))
        (c20, c21) = (load8(c + 2 * ldc), load8(c + 2 * ldc + 8))
        (c30, c31) = (load8(c + 3 * ldc), load8(c + 3 * ldc + 8))
    }
    let a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
    var bp = b
    for k in 0..<K {
        let b0 = load8(bp), b1 = load8(bp + 8)
        let x0 = F8(repeating: a[k]), x1 = F8(repeating: a1[k]), x2 = F8(repeating: a2[k]), x3 = F8(repeating: a3[k])
        c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
        c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1)
        c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1)
        c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1)
        bp += ldb
    }
    store8(c00, c); store8(c01, c + 8)
    store8(c10, c + ldc); store8(c11, c + ldc + 8)
    store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
    store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
}

@inline(__always)
func block1x16(_ K: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    var c0 = accumulate ? load8(c) : F8(), c1 = accumulate ? load8(c + 8) : F8()
    var bp = b
    for k in 0..<K {
        let x = F8(repeating: a[k])
        c0 = c0.addingProduct(x, load8(bp))
        c1 = c1.addingProduct(x, load8(bp + 8))
        bp += ldb
    }
    store8(c0, c)
    store8(c1, c + 8)
}

@inline(__always)
func block1x8(_ K: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    var c0 = accumulate ? load8(c) : F8()
    var bp = b
    for k in 0..<K {
        c0 = c0.addingProduct(F8(repeating: a[k]), load8(bp))
        bp += ldb
    }
    store8(c0, c)
}

/// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols, in 32 × 32 blocks (both sides stay in cache).
public func transpose(_ rows: Int, _ cols: Int, _ src: UnsafePointer<Float>, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int) {
    let block = 32
    var r0 = 0
    while r0 < rows {
        let r1 = min(rows, r0 + block)
        var c0 = 0
        while c0 < cols {
            let c1 = min(cols, c0 + block)
            for r in r0..<r1 {
                let s = src + r * lds
                for c in c0..<c1 { dst[c * ldd + r] = s[c] }
            }
            c0 = c1
        }
        r0 = r1
    }
}
