import CFactoryABI
import FactoryEngine

/// ABI 1.3: the engine's threads lent to a plugin (an attention kernel splitting its heads and tiles),
/// and the training micro-batch's seed.
enum ParallelServices {
    static func install(_ t: inout factory_host_api_t) {
        t.parallel_for = { count, grain, body, userdata in
            guard let body, count > 0 else { return }
            parallelChunks(Int(count), grain: Int(grain)) { r in body(userdata, Int64(r.lowerBound), Int64(r.upperBound)) }
        }
        t.training_seed = { TrainingRandomness.seed ?? 0 }
    }
}
