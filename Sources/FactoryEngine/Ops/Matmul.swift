import COpenBLAS

// matmul: [..., M, K] · [..., K, N] (or · [K, N] shared by every batch) through
// cblas_sgemm (or, in a run with bf16 products, `gemm`'s bf16 path). A transposed view is passed with the Trans flag and its leading
// dimension, never copied. Backward: dA = dC · Bᵀ, dB = Aᵀ · dC (summed over
// the batch when B is shared), both again through the flags.

/// How a [rows, cols] matrix (possibly a transposed view) reads as a GEMM operand.
struct GemmOperand {
    let tensor: Tensor
    let trans: Bool
    let ld: Int
    /// Elements between consecutive matrices of the batch (0 for one matrix).
    let batchStride: Int

    /// The operand for `t`, copying only when its layout cannot be described to sgemm.
    init(_ t: Tensor) {
        if let described = GemmOperand.describe(t) {
            self = described
        } else {
            self = GemmOperand.describe(t.contiguousCopy())!
        }
    }

    private init(tensor: Tensor, trans: Bool, ld: Int, batchStride: Int) {
        self.tensor = tensor
        self.trans = trans
        self.ld = ld
        self.batchStride = batchStride
    }

    static func describe(_ t: Tensor) -> GemmOperand? {
        let r = t.rank
        let rows = t.shape[r - 2], cols = t.shape[r - 1]
        let sr = t.strides[r - 2], sc = t.strides[r - 1]
        var trans: Bool, ld: Int
        if (sc == 1 || cols == 1) && sr >= max(1, cols) {
            trans = false; ld = max(sr, max(1, cols))
        } else if (sr == 1 || rows == 1) && sc >= max(1, rows) {
            trans = true; ld = max(sc, max(1, rows))
        } else {
            return nil
        }
        // Batch dimensions must collapse into one uniform stride.
        let batchDims = (0..<(r - 2)).filter { t.shape[$0] != 1 }
        var batchStride = 0
        if let last = batchDims.last {
            batchStride = t.strides[last]
            var expected = batchStride * t.shape[last]
            for d in batchDims.dropLast().reversed() {
                guard t.strides[d] == expected else { return nil }
                expected *= t.shape[d]
            }
        }
        return GemmOperand(tensor: t, trans: trans, ld: ld, batchStride: batchStride)
    }
}

/// C[M, N] = A[M, K] · B[K, N] for each matrix of the batch.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    if let problem = ShapeRules.matmul(a.shape, b.shape) { preconditionFailure(problem) }
    let M = a.shape[a.rank - 2], K = a.shape[a.rank - 1], N = b.shape[b.rank - 1]
    let batchShape = Array(a.shape.dropLast(2))
    let shared = b.rank == 2
    let batch = batchShape.reduce(1, *)
    let out = Tensor(shape: batchShape + [M, N])
    let A = GemmOperand(a), B = GemmOperand(b)
    if shared && !A.trans && (batch == 1 || A.batchStride == M * A.ld) {
        sgemm(A, B, out.data, M: batch * M, N: N, K: K, aOffset: 0, bOffset: 0)
    } else {
        for i in 0..<batch {
            sgemm(A, B, out.data + i * M * N, M: M, N: N, K: K, aOffset: i * A.batchStride, bOffset: shared ? 0 : i * B.batchStride)
        }
    }
    return out.recorded("matmul", [a, b]) { g in
        let ga: Tensor? = a.requiresGrad ? matmul(g, b.transposed()) : nil
        var gb: Tensor?
        if b.requiresGrad {
            if shared && batch > 1 {
                let flatA = a.reshaped([batch * M, K]), flatG = g.reshaped([batch * M, N])
                gb = matmul(flatA.transposed(), flatG)
            } else if shared {
                gb = matmul(a.reshaped([M, K]).transposed(), g.reshaped([M, N]))
            } else {
                gb = matmul(a.transposed(), g)
            }
        }
        return [ga, gb]
    }
}

/// y = x · wᵀ (+ bias): x [..., in], w [out, in] as stored by checkpoints.
public func linear(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil) -> Tensor {
    let y = matmul(x.rank == 1 ? x.reshaped([1, x.count]) : x, w.transposed())
    let shaped = x.rank == 1 ? y.reshaped([w.shape[0]]) : y
    return bias.map { add(shaped, $0) } ?? shaped
}

@inline(__always)
func sgemm(_ A: GemmOperand, _ B: GemmOperand, _ C: UnsafeMutablePointer<Float>, M: Int, N: Int, K: Int, aOffset: Int, bOffset: Int) {
    if M == 0 || N == 0 { return }
    if K == 0 {
        C.update(repeating: 0, count: M * N)
        return
    }
    if M == 1 {  // one row (decoding): sgemv reads B once; sgemm would first pack all of it
        let x = A.tensor.data + aOffset, incX = Int32(A.trans ? A.ld : 1)
        cblas_sgemv(CblasRowMajor, B.trans ? CblasNoTrans : CblasTrans, Int32(B.trans ? N : K), Int32(B.trans ? K : N), 1,
                    B.tensor.data + bOffset, Int32(B.ld), x, incX, 0, C, 1)
        return
    }
    gemm(transA: A.trans, transB: B.trans, M: M, N: N, K: K, A.tensor.data + aOffset, lda: A.ld, B.tensor.data + bOffset, ldb: B.ld,
         C, ldc: N, aOwner: A.tensor, bOwner: B.tensor)
}
