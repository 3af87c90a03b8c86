// Dropout with a counter-based generator: the mask of element i depends only on
// (seed, i), so it is reproducible, thread-independent, and identical when a
// checkpointed block is re-run.

/// Zeroes each element with probability p and scales the rest by 1/(1-p).
public func dropout(_ x: Tensor, p: Float, seed: UInt64) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
    if p == 0 { return x }
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let keep = 1 / (1 - p)
    let threshold = UInt64(Double(p) * 18446744073709551616.0)
    let s = src.data, o = out.data
    parallelFor(out.count) { r in
        for i in r { o[i] = splitMix(seed &+ UInt64(i)) < threshold ? 0 : s[i] * keep }
    }
    return out.recorded("dropout", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape)
        let gp = gc.data, d = dx.data
        parallelFor(dx.count) { r in
            for i in r { d[i] = splitMix(seed &+ UInt64(i)) < threshold ? 0 : gp[i] * keep }
        }
        return [dx]
    }
}

/// SplitMix64's output function: a well-mixed 64-bit value from a counter.
@inline(__always)
func splitMix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// The seed of the training micro-batch being run (forward and backward), set by the trainer from
/// (seed, step, micro-batch); nil outside training. Plugins read it through the host's training_seed.
public enum TrainingRandomness {
    /// (The current ExecutionContext's.)
    public static var seed: UInt64? {
        get { ExecutionContext.current.trainingSeed }
        set { ExecutionContext.current.trainingSeed = newValue }
    }
}
