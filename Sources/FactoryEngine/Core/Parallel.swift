import COpenBLAS
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The engine's thread count: OpenBLAS's GEMM threads and the split of
/// elementwise and reduction loops. One setting (`threads:` in a config,
/// FACTORY_THREADS in the environment) controls both.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        let fromEnv = getenv("FACTORY_THREADS").flatMap { Int(String(cString: $0)) }
        let n = max(1, fromEnv ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        openblas_set_num_threads(Int32(n))
        return n
    }()

    /// The number of threads in use.
    public static var count: Int { current }

    /// Sets both OpenBLAS's threads and the engine's loop split.
    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(Int32(current))
    }
}

/// Splits a loop over `0..<count` into at most Threads.count contiguous
/// chunks of at least `grain` iterations and runs them concurrently.
@inline(__always)
public func parallelFor(_ count: Int, grain: Int = 16384, _ body: (Range<Int>) -> Void) {
    let threads = min(Threads.count, max(1, count / max(grain, 1)))
    if threads <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let chunk = (count + threads - 1) / threads
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = t * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// Chunks of `grain` items over `0..<count`, taken in turn by up to Threads.count workers (dynamic:
/// uneven chunks balance). For work whose items differ in cost, such as attention tiles.
public func parallelChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    let grain = max(grain, 1)
    let chunks = (count + grain - 1) / grain
    let workers = min(Threads.count, chunks)
    guard workers > 1 else {
        for c in 0..<max(chunks, 0) { body((c * grain)..<min(count, (c + 1) * grain)) }
        return
    }
    let next = Atomic<Int>(0)
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let c = next.add(1, ordering: .relaxed).oldValue
                guard c < chunks else { return }
                body((c * grain)..<min(count, (c + 1) * grain))
            }
        }
    }
}
