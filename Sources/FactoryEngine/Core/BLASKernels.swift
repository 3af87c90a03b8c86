import COpenBLAS
import Glibc

/// Debian's OpenBLAS 0.3.21 picks its Haswell (AVX2) kernels on AMD Zen 4/5 although those CPUs
/// have AVX-512: measured here, sgemm runs at ~240 GFLOP/s with them and ~470 with the SkylakeX
/// kernels on 2 threads. OpenBLAS chooses its kernels when it loads (before main), from
/// OPENBLAS_CORETYPE; so a program that wants the better kernels sets the variable and re-executes
/// itself once, first thing in main. An explicit OPENBLAS_CORETYPE (even empty) is left alone.
///
/// Training also sets OPENBLAS_THREAD_TIMEOUT=4: after a GEMM, OpenBLAS's idle worker threads spin on
/// sched_yield for 2^28 cycles by default, competing with the engine's own threads (attention
/// kernels, elementwise loops) for the same cores; with 2^4 they sleep at once. Measured on SmolLM2
/// LoRA training: 5–14% more tokens/s; but decoding (hundreds of small GEMMs per token, each then
/// waking a worker) loses ~10%, so only training asks for it.
public enum BLASKernels {
    /// Sets what OpenBLAS reads when it loads and re-executes the process once if anything changed:
    /// SKYLAKEX kernels when OPENBLAS_CORETYPE is unset and the CPU has AVX-512; with `training`, a
    /// short worker spin (OPENBLAS_THREAD_TIMEOUT=4) when that variable is unset. Explicit settings
    /// (even empty) are left alone. Returns when nothing was done (or exec failed: the program then
    /// runs with what it has).
    public static func prepare(training: Bool = false) {
        var changed = false
        if getenv("OPENBLAS_CORETYPE") == nil, cpuHasAVX512() {
            setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
            changed = true
        }
        if training, getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
            changed = true
        }
        guard changed else { return }
        let args = CommandLine.unsafeArgv
        _ = execv("/proc/self/exe", args)
    }

    /// The kernels OpenBLAS chose when it loaded ("Haswell", "SkylakeX", ...), for benchmark reports.
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    static func cpuHasAVX512() -> Bool {
        guard let f = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0, let l = line {
            let text = String(cString: l)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(separator: " ").map { String($0.filter { $0 != "\n" }) })
            return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { flags.contains($0) }
        }
        return false
    }
}
