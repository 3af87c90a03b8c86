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
/// Every job is split into exactly Threads.count parts, each claimed once from a shared counter: the
/// caller runs part 0 and then claims what no helper has started, so a helper that is not running (the
/// core taken by another process, or asleep) never makes the caller wait for it; the caller returns once
/// every part has finished, yielding its core while a helper still runs one (that helper may need it).
/// One caller at a time: a call made while a job runs (from another thread, or nested in a part)
/// runs all its parts itself.
public final class SpinningWorkers: @unchecked Sendable {
    /// The process's helpers (started on first use, one fewer than Threads.count).
    public static let shared = SpinningWorkers()

    /// Bumped once per job: what helpers wait for.
    private let generation = Atomic<Int>(0)
    /// The current job's claims: its generation (low 31 bits, so the word stays positive) << 32 | its part
    /// count << 16 | next part.
    private let claims = Atomic<Int>(0)
    /// Parts of the current job finished.
    private let done = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private var job: ((Int, Int) -> Void)?
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
        guard n > 1, n < 1 << 16, !busy.exchange(true, ordering: .acquiring) else {
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
            done.store(0, ordering: .relaxed)
            let g = generation.load(ordering: .relaxed) &+ 1  // only the caller holding `busy` changes it
            claims.store((g & 0x7FFF_FFFF) << 32 | n << 16 | 1, ordering: .releasing)  // part 0 is the caller's
            generation.store(g, ordering: .sequentiallyConsistent)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&wake) }
            pthread_mutex_unlock(&mutex)
            body(0, n)
            var finishedHere = 1
            while let (part, _) = claim(generation: g) {
                body(part, n)
                finishedHere += 1
            }
            done.add(finishedHere, ordering: .relaxed)
            var polls = 0
            while done.load(ordering: .acquiring) < n {
                polls += 1
                if polls > Self.busyPolls { sched_yield() }
            }
            job = nil
        }
    }

    /// Tests: numbers the next jobs from `g` on, to cross the claims word's 31-bit wrap without running 2³¹
    /// jobs first. Call only while no job runs.
    func continueNumbering(from g: Int) { generation.store(g, ordering: .sequentiallyConsistent) }

    /// The next unstarted part of job `generation` (and the job's part count), now claimed by the caller;
    /// nil when every part is taken or that job is over.
    private func claim(generation g: Int) -> (part: Int, parts: Int)? {
        var c = claims.load(ordering: .acquiring)
        while c >> 32 == g & 0x7FFF_FFFF, c & 0xFFFF < (c >> 16) & 0xFFFF {
            let (claimed, current) = claims.compareExchange(expected: c, desired: c + 1, successOrdering: .acquiring, failureOrdering: .acquiring)
            if claimed { return (c & 0xFFFF, (c >> 16) & 0xFFFF) }
            c = current
        }
        return nil
    }

    /// Starts helpers up to `count`; false when the system refuses a thread (the caller runs serially).
    private func startHelpers(_ count: Int) -> Bool {
        while helpers < count {
            let context = Unmanaged.passRetained(HelperContext(workers: self, seen: generation.load(ordering: .acquiring)))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
                context.workers.helperLoop(seen: context.seen)
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
        let workers: SpinningWorkers, seen: Int
        init(workers: SpinningWorkers, seen: Int) { (self.workers, self.seen) = (workers, seen) }
    }

    private func helperLoop(seen start: Int) {
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
            // A claimed part keeps its job's caller waiting in `run`, so `job` is that job's until done.add.
            while let (part, parts) = claim(generation: seen) {
                job?(part, parts)
                done.add(1, ordering: .releasing)
            }
        }
    }
}
