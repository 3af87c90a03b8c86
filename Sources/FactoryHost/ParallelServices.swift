import CFactoryABI
import Dispatch
import FactoryEngine
import Synchronization

/// ABI 1.3: the engine's threads lent to a plugin (an attention kernel splitting its heads and tiles),
/// and the training micro-batch's seed.
enum ParallelServices {
    static func install(_ t: inout factory_host_api_t) {
        t.parallel_for = { count, grain, body, userdata in
            guard let body, count > 0 else { return }
            ParallelServices.run(count: Int(count), grain: Int(max(grain, 1))) { begin, end in body(userdata, Int64(begin), Int64(end)) }
        }
        t.training_seed = { TrainingRandomness.seed ?? 0 }
    }

    /// Chunks of `grain` items over [0, count), taken in turn by up to Threads.count workers.
    static func run(count: Int, grain: Int, _ body: (Int, Int) -> Void) {
        let chunks = (count + grain - 1) / grain
        let workers = min(Threads.count, chunks)
        guard workers > 1 else {
            for c in 0..<chunks { body(c * grain, min(count, (c + 1) * grain)) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let c = next.add(1, ordering: .relaxed).oldValue
                    guard c < chunks else { return }
                    body(c * grain, min(count, (c + 1) * grain))
                }
            }
        }
    }
}
