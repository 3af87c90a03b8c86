/// Which adapter each batch row runs with when several adapters serve over one base (`factory api`'s
/// api_adapters): 0 for the base alone, i for the i-th adapter. Set by the batch decoder around a forward
/// pass; a multi-adapter linear hook reads it. nil = none (one model, as always).
public enum RowAdapters {
    /// (The current ExecutionContext's.)
    public static var indices: [Int]? {
        get { ExecutionContext.current.rowAdapters }
        set { ExecutionContext.current.rowAdapters = newValue }
    }
}
