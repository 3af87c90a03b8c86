/// Per-row key counts of a continuous-batching step: rows of different lengths decoded together, each
/// row's keys in the KV cache up to its own count. Set by the host around such a forward pass; the
/// host's attention then runs each row over its own keys (EngineHooks.attentionByRow). nil = none.
public enum RaggedKeys {
    /// (The current ExecutionContext's.)
    public static var lengths: [Int]? {
        get { ExecutionContext.current.keyLengths }
        set { ExecutionContext.current.keyLengths = newValue }
    }
}
