import CRowKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Runtime dispatch of the row ops (softmax, log-sum-exp, cross-entropy's gradient, SiLU, SiLU·mul,
// RMSNorm) between CRowKernels' AVX-512 loops and the engine's SIMD8 loops (VectorMath): the release
// build targets Haswell, so 16-lane code only runs where the CPU said it can, and is chosen per call.

/// Which row kernels the engine runs: CRowKernels' AVX-512 ones where the CPU has AVX-512 F and DQ,
/// else the portable SIMD8 loops. Thread rule: any thread; `usesWide` may change between calls (tests).
public enum RowKernels {
    /// The CPU runs the AVX-512 kernels.
    public static let wideAvailable = frk_wide_available() != 0
    /// Whether row ops use the AVX-512 kernels: where available, unless switched off (tests compare the
    /// two paths by switching it; setting it true where unavailable has no effect).
    public static var usesWide: Bool {
        get { wideAvailable && wideEnabled.load(ordering: .relaxed) }
        set { wideEnabled.store(newValue, ordering: .relaxed) }
    }
    private static let wideEnabled = Atomic<Bool>(true)
    /// "avx512" or "simd8": what row ops run now (for benchmarks and logs).
    public static var name: String { usesWide ? "avx512" : "simd8" }
}

/// log Σ exp(x[0..<n]), stable; −inf for an all −inf row.
public func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    if RowKernels.usesWide { return frk_logsumexp_row(x, n) }
    let m = max8(x, 0..<n)
    if m == -.infinity { return m }
    let mv = F8(repeating: m)
    return m + logf(sum8(x, 0..<n) { exp8($0 - mv) })
}

/// out[i] = exp(x[i] − shift) · scale for i < n (the scaled softmax of a cross-entropy gradient); out may be x.
public func expShiftScale(_ x: UnsafePointer<Float>, shift: Float, scale: Float, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    if RowKernels.usesWide { return frk_exp_shift_scale_row(x, shift, scale, out, n) }
    let l8 = F8(repeating: shift), s8 = F8(repeating: scale)
    map8(x, out, 0..<n) { exp8($0 - l8) * s8 }
}
