import CBF16Gemm
import COpenBLAS
import Synchronization

// bf16 mixed precision, as torch's autocast does it on the CPU: the operands of the large matrix products
// are rounded to bf16 and multiplied with fp32 accumulation (oneDNN); everything else — master weights,
// gradients, optimizer state, norms, softmax, attention, the loss — stays fp32. A run turns it on by
// giving its ExecutionContext a BF16Products; every product of the engine (and the fused LM-head loss)
// then goes through `gemm`, which asks the context. The bf16 copies of the run's frozen weights are
// made once and kept for the run, so a LoRA step rounds only activations and the adapters.

/// The bf16 state of one run: which storages hold frozen weights, and their bf16 copies once made.
/// Owned by the run's ExecutionContext; thread-safe (a mutex guards the copies).
public final class BF16Products: @unchecked Sendable {
    /// Products smaller than this along any side stay in fp32 (LoRA's rank-r products, decoding rows):
    /// rounding them saves nothing.
    public static let smallestSide = 16

    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let address: UnsafeRawPointer
        let rows: Int, cols: Int, ld: Int
    }
    /// Frozen storages, held so that their addresses cannot be reused by other tensors during the run.
    private let frozen: [ObjectIdentifier: Storage]
    private let copies = Mutex<[Key: UnsafeMutablePointer<UInt16>]>([:])
    private let failures = Atomic<Int>(0)
    /// Where an accumulating product (beta ≠ 0) lands before it is added to C; grows to the largest one.
    private let scratch = Mutex<(pointer: UnsafeMutablePointer<Float>?, capacity: Int)>((nil, 0))
    /// Called once with a line when oneDNN refuses a product (that product and later ones run in fp32).
    public let warn: @Sendable (String) -> Void

    /// `frozen`: the tensors whose values do not change during the run (a LoRA run's base weights).
    public init(frozen: [Tensor], warn: @escaping @Sendable (String) -> Void) {
        var held: [ObjectIdentifier: Storage] = [:]
        for t in frozen where t.storage.dtype == .f32 { held[ObjectIdentifier(t.storage)] = t.storage }
        self.frozen = held
        self.warn = warn
    }

    deinit {
        copies.withLock { for (_, p) in $0 { p.deallocate() } }
        scratch.withLock { $0.pointer?.deallocate() }
    }

    /// Bytes held by bf16 copies of frozen weights.
    public var copiedBytes: Int {
        copies.withLock { $0.keys.reduce(0) { $0 + $1.rows * $1.cols * 2 } }
    }

    /// Whether oneDNN multiplied in bf16 every time it was asked (false after a refusal).
    public var healthy: Bool { failures.load(ordering: .relaxed) == 0 }

    /// The bf16 copy of a rows × cols operand at `p` (row stride ld) inside `owner`, when owner is frozen.
    func copy(of p: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, owner: Tensor?) -> UnsafePointer<UInt16>? {
        guard let owner, frozen[ObjectIdentifier(owner.storage)] != nil else { return nil }
        let key = Key(storage: ObjectIdentifier(owner.storage), address: UnsafeRawPointer(p), rows: rows, cols: cols, ld: ld)
        return copies.withLock { copies in
            if let made = copies[key] { return UnsafePointer(made) }
            let made = UnsafeMutablePointer<UInt16>.allocate(capacity: max(rows * cols, 1))
            fbg_to_bf16(p, rows, cols, ld, made)
            copies[key] = made
            return UnsafePointer(made)
        }
    }

    /// C = alpha·op(A)·op(B) + beta·C in bf16 with fp32 accumulation; false when oneDNN failed (the caller
    /// then runs sgemm, which overwrites or accumulates into C as if nothing had run: an accumulating product
    /// goes through `scratch` first, so C is only touched once oneDNN succeeded).
    func multiply(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float, _ A: UnsafePointer<Float>, lda: Int,
                  _ B: UnsafePointer<Float>, ldb: Int, beta: Float, _ C: UnsafeMutablePointer<Float>, ldc: Int,
                  aOwner: Tensor?, bOwner: Tensor?) -> Bool {
        guard failures.load(ordering: .relaxed) == 0 else { return false }
        let a = copy(of: A, rows: transA ? K : M, cols: transA ? M : K, ld: lda, owner: aOwner)
        let b = copy(of: B, rows: transB ? N : K, cols: transB ? K : N, ld: ldb, owner: bOwner)
        let status: Int32
        if beta == 0 {
            status = fbg_gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, A, lda, a, B, ldb, b, C, ldc, Int32(Threads.count))
        } else {
            status = scratch.withLock { held in
                if held.capacity < M * N {
                    held.pointer?.deallocate()
                    held = (UnsafeMutablePointer<Float>.allocate(capacity: M * N), M * N)
                }
                let p = held.pointer!
                let status = fbg_gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, A, lda, a, B, ldb, b, p, N, Int32(Threads.count))
                if status == 0 {
                    parallelFor(M, grain: max(1, 16384 / max(N, 1))) { rows in
                        for r in rows {
                            let c = C + r * ldc, q = p + r * N
                            for j in 0..<N { c[j] = q[j] + beta * c[j] }
                        }
                    }
                }
                return status
            }
        }
        if status == 0 { return true }
        if failures.add(1, ordering: .relaxed).oldValue == 0 {
            warn("bf16: oneDNN could not multiply \(M)×\(K) by \(K)×\(N) (\(BF16Products.describe(status))); this run multiplies in float32 from here on")
        }
        return false
    }

    static func describe(_ status: Int32) -> String {
        switch status {
        case -1: return "out of memory"
        case -2: return "the product failed part-way"
        default: return "oneDNN status \(-(status + 100))"
        }
    }

    /// Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX-BF16), as oneDNN sees it.
    public static var native: Bool { fbg_native_bf16() != 0 }
}

/// C = alpha·op(A)·op(B) + beta·C, row-major with cblas_sgemm's contract (op(A) M × K, op(B) K × N, C M × N).
/// In a context with bf16 products (ExecutionContext.bf16) and with every side at least
/// BF16Products.smallestSide, op(A) and op(B) are rounded to bf16 and oneDNN multiplies them with fp32
/// accumulation; otherwise OpenBLAS's sgemm runs. `aOwner` / `bOwner` name the tensors whose storage
/// holds A / B, so that a frozen weight's bf16 copy is made once per run.
public func gemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1, _ A: UnsafePointer<Float>, lda: Int,
                 _ B: UnsafePointer<Float>, ldb: Int, beta: Float = 0, _ C: UnsafeMutablePointer<Float>, ldc: Int,
                 aOwner: Tensor? = nil, bOwner: Tensor? = nil) {
    if let bf16 = ExecutionContext.current.bf16, min(M, N, K) >= BF16Products.smallestSide,
       bf16.multiply(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A, lda: lda, B, ldb: ldb, beta: beta, C, ldc: ldc,
                     aOwner: aOwner, bOwner: bOwner) {
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(M), Int32(N), Int32(K),
                alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}
