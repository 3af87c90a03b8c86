import Glibc

/// Debian's OpenBLAS 0.3.21 picks its Haswell (AVX2) kernels on AMD Zen 4/5 although those CPUs
/// have AVX-512: measured here, sgemm runs at ~240 GFLOP/s with them and ~470 with the SkylakeX
/// kernels on 2 threads. OpenBLAS chooses its kernels when it loads (before main), from
/// OPENBLAS_CORETYPE; so a program that wants the better kernels sets the variable and re-executes
/// itself once, first thing in main. An explicit OPENBLAS_CORETYPE (even empty) is left alone.
public enum BLASKernels {
    /// Re-executes the process with OPENBLAS_CORETYPE=SKYLAKEX when the CPU has the AVX-512
    /// subsets those kernels use and the variable is unset. Returns when nothing was done (or
    /// exec failed, in which case the program simply runs with the kernels it has).
    public static func preferAVX512() {
        guard getenv("OPENBLAS_CORETYPE") == nil, cpuHasAVX512() else { return }
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        var args = CommandLine.unsafeArgv
        _ = execv("/proc/self/exe", &args[0])
    }

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
