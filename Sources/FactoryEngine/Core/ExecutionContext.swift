// The state a model's computation reads besides its tensors, in one object per run instead of
// process-wide variables: the parameter store the hooks read, the linear and attention hooks,
// whether ops record the tape, the batch's rotary positions, NEFTune's noise, the training seed,
// the checkpointing mode and the outputs a checkpointed block keeps. A training run, a chat
// session, a policy and its reference model each get their own; `context.run { }` makes one
// current for a body, and every engine op, hook and host service reads the current one.
//
// The static names that code used before (ParameterStore.active, EngineHooks.linear, GradMode,
// RotaryPositions.perRow, EmbeddingNoise.current, TrainingRandomness.seed, GradientCheckpointing)
// remain as accessors of the current context: they hold no state of their own.

/// A hookable linear: (parameter name, input) → output.
public typealias LinearHook = (String, Tensor) throws -> Tensor
/// A hookable attention: (q, k, v, mask, params) → output.
public typealias AttentionHook = (Tensor, Tensor, Tensor, Tensor?, AttentionParams) throws -> Tensor

/// One run's execution state (see the file comment). Not thread-safe: one thread runs a context at a
/// time (engine ops may fan out to worker threads inside one call; those read nothing from it).
public final class ExecutionContext: @unchecked Sendable {
    /// The parameters that linear(name:) and the host's parameter lookups read.
    public var parameters: ParameterStore
    /// linear(name, x): a fine-tuning method replaces it for the names it adapts and calls `baseLinear`.
    public var linear: LinearHook { didSet { defaultLinears = false } }
    /// The base model's own linear (dense by default; a quantized base reads packed weights).
    public var baseLinear: LinearHook { didSet { defaultLinears = false } }
    /// Whether `linear` and `baseLinear` are still the defaults of `init` (no method, adapter, head or
    /// checkpoint has replaced either, even for a while): then every linear is `EngineHooks.denseLinear`,
    /// and `EngineHooks.linears` may multiply several packed weights as one job.
    public private(set) var defaultLinears = true
    /// attention(q, k, v, mask, params): the reference attention unless a kernel plugin is installed.
    public var attention: AttentionHook
    /// Whether ops record the tape (false inside `GradMode.disabled`).
    public var recording = true
    /// The first failure a plugin-supplied backward reported during the last backward(), if any.
    public var backwardFailure: String?
    /// Per-row positions of the batch being run (B × T), or nil (see RotaryPositions).
    public var rotaryPositions: [Int]?
    /// Per-row key counts of a batched decoding step (rows of different lengths), or nil (see RaggedKeys).
    public var keyLengths: [Int]?
    /// Per-row adapter of the batch being run (several adapters over one base), or nil (see RowAdapters).
    public var rowAdapters: [Int]?
    /// Whether a generation's forward runs (a prompt or a decoding step; see `PackedWeight.generating`).
    public var generating = false
    /// Called with a leaf after backward added into its gradient (data-parallel buckets watch it), or nil.
    public var gradientAccumulated: ((Tensor) -> Void)?
    /// bf16 products for the run (`bf16: true`), or nil: products in fp32 (see BF16Products).
    public var bf16: BF16Products?
    /// NEFTune's noise for the training forward being run, or nil.
    public var embeddingNoise: EmbeddingNoise?
    /// The seed of the training micro-batch being run (dropout masks, noise), or nil outside training.
    public var trainingSeed: UInt64?
    /// Whether checkpoint blocks checkpoint, and whether they keep their base linears' outputs.
    public var checkpointing = true
    public var keepLinearOutputs = true
    /// The checkpointed block whose forward runs now / whose backward re-runs it now.
    var keeping: KeptOutputs?
    var replaying: KeptOutputs?
    /// The weights a model family is loading from (the host's checkpoint source), while it loads.
    public var loadingSource: AnyObject?
    /// Named intermediates a model reports through observe(), collected while non-nil (tests).
    public var observed: [String: Tensor]?

    /// A fresh context: an empty parameter store, the dense linear and the reference attention,
    /// recording on, checkpointing on.
    public init(parameters: ParameterStore = ParameterStore()) {
        self.parameters = parameters
        linear = { name, x in try EngineHooks.baseLinear(name, x) }
        baseLinear = { name, x in try EngineHooks.denseLinear(name, x) }
        attention = EngineHooks.referenceAttention
    }

    /// A new context for a run started from this one: the same hooks (so a chosen attention kernel, a
    /// quantized base's linear stay), its own parameter store, checkpointing on, nothing else carried over.
    public func derived() -> ExecutionContext {
        let c = ExecutionContext()
        (c.linear, c.baseLinear, c.attention) = (linear, baseLinear, attention)
        c.defaultLinears = defaultLinears
        return c
    }

    /// The context engine calls read: the process's first one until a `run` installs another.
    nonisolated(unsafe) public private(set) static var current = ExecutionContext()

    /// Runs `body` with this context current, then makes the previous one current again.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        let previous = ExecutionContext.current
        ExecutionContext.current = self
        defer { ExecutionContext.current = previous }
        return try body()
    }
}
