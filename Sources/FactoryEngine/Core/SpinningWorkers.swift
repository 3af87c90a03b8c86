import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Persistent helper threads for splits that take microseconds: decoding's per-layer products, where
/// waking GCD's workers costs more than the work saves (measured on Gemma 3: splitting its 0.6–1.3M
/// multiply-add products through GCD made decoding slower). After each job a helper polls the job
/// counter, `busyPolls` times flat out and then yielding the core between polls, up to `spinLimit` polls
/// before it sleeps on a condition variable: the next product of the same token finds it awake, other
/// runnable threads still get the core, and an idle process burns no CPU.
///
/// Every job is split into exactly Threads.count parts: the caller runs part 0, helper k part k, and
/// the caller returns once every helper has finished its part, so no helper ever sees two jobs at once.
/// One caller at a time: a call made while a job runs (from another thread, or nested in a part)
/// runs all its parts itself.
public final class SpinningWorkers: @unchecked Sendable {
    /// The process's helpers (started on first use, one fewer than Threads.count).
    public static let shared = SpinningWorkers()

    private let generation = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private var job: ((Int, Int) -> Void)?
    private var parts = 1
    private var helpers = 0
    private var sleepers = 0
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private static let spinLimit = 200_000, busyPolls = 2_000

    private init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
    }

    /// Runs body(part, parts) for part in 0..<parts, parts = Threads.count, concurrently where it can;
    /// returns when all have returned.
    public func run(_ body: (_ part: Int, _ parts: Int) -> Void) {
        let n = Threads.count
        guard n > 1, !busy.exchange(true, ordering: .acquiring) else {
            for p in 0..<n { body(p, n) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        if helpers < n - 1 && !startHelpers(n - 1) {
            for p in 0..<n { body(p, n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            parts = n
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&wake) }
            pthread_mutex_unlock(&mutex)
            body(0, n)
            // helpers beyond this job's parts (Threads.count lowered) finish at once
            while finished.load(ordering: .acquiring) < helpers {}
            job = nil
        }
    }

    /// Starts helpers up to `count`; false when the system refuses a thread (the caller runs serially).
    private func startHelpers(_ count: Int) -> Bool {
        while helpers < count {
            let index = helpers + 1
            let context = Unmanaged.passRetained(HelperContext(workers: self, index: index, seen: generation.load(ordering: .acquiring)))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
                context.workers.helperLoop(index: context.index, seen: context.seen)
                return nil
            }, context.toOpaque())
            guard status == 0 else {
                context.release()
                return false
            }
            pthread_detach(thread)
            helpers += 1
        }
        return true
    }

    private final class HelperContext {
        let workers: SpinningWorkers, index: Int, seen: Int
        init(workers: SpinningWorkers, index: Int, seen: Int) { (self.workers, self.index, self.seen) = (workers, index, seen) }
    }

    private func helperLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinLimit {
                spins += 1
                // past the first polls, give the core to any other runnable thread (OpenBLAS's workers
                // in a token's fp32 products): spinning alone there took decoding from 80 to 55 tok/s
                if spins > Self.busyPolls { sched_yield() }
            }
            if generation.load(ordering: .sequentiallyConsistent) == seen {
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(&wake, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if index < parts, let job { job(index, parts) }
            finished.add(1, ordering: .releasing)
        }
    }
}
