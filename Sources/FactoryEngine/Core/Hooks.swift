// The two hookable calls of the design: linear(name, x) and attention(q, k, v).
// Models call them; the pipeline routes them to the chosen quantizer,
// fine-tuning method and attention kernel by replacing these closures. The
// defaults are the dense weight from the parameter store and the reference attention.

/// Named parameters (HF checkpoint names) that linear(name:) reads. Each loaded
/// model owns one; `active` is the one the hooks read (the model running now).
public final class ParameterStore: @unchecked Sendable {
    /// The store of the model that is loading or running (the current ExecutionContext's).
    public static var active: ParameterStore {
        get { ExecutionContext.current.parameters }
        set { ExecutionContext.current.parameters = newValue }
    }
    private var tensors: [String: Tensor] = [:]
    /// When each name was first stored: of the names sharing one tensor (tied weights), the first is
    /// the one the model family holds; later ones are aliases it reads by name.
    private var registered: [String: Int] = [:]
    /// Frozen linear weights kept packed by a quantizer, by parameter name ("….weight"); the base
    /// linear reads them in place of a dense weight.
    public var packed: [String: PackedWeight] = [:]
    /// While a model loads: packs a weight as it is registered (nil = keep it dense), so a quantized
    /// base never holds all its fp32 weights at once.
    public var packOnRegister: ((String, Tensor) throws -> PackedWeight?)?

    public init() {}

    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set {
            if newValue != nil, tensors[name] == nil, registered[name] == nil { registered[name] = registered.count }
            tensors[name] = newValue
        }
    }

    /// The names that share `name`'s tensor (tied weights), `name` included, first stored first.
    public func aliases(of name: String) -> [String] {
        guard let t = tensors[name] else { return [] }
        return tensors.filter { $0.value === t }.keys.sorted { (registered[$0] ?? .max, $0) < (registered[$1] ?? .max, $1) }
    }

    public var names: [String] { tensors.keys.sorted() }

    /// A new store holding the same tensors and packed weights (not copies): another adapter over the same
    /// base adds its own tensors there and leaves this one as it is.
    public func sharing() -> ParameterStore {
        let s = ParameterStore()
        (s.tensors, s.registered, s.packed) = (tensors, registered, packed)
        return s
    }

    public func removeAll() {
        tensors.removeAll()
        registered.removeAll()
        packed.removeAll()
    }
}

/// A failure of a hookable call: a message, never a trap.
public struct HookError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum EngineHooks {
    /// linear(name, x): x · Wᵀ (+ b) with W = `name`.weight (or `name`) and b = `name`.bias if present.
    /// A fine-tuning method replaces it for the names it adapts and calls `baseLinear` inside.
    /// (The current ExecutionContext's.)
    public static var linear: LinearHook {
        get { ExecutionContext.current.linear }
        set { ExecutionContext.current.linear = newValue }
    }

    /// The base model's own linear (dense by default; a quantizer replaces it).
    public static var baseLinear: LinearHook {
        get { ExecutionContext.current.baseLinear }
        set { ExecutionContext.current.baseLinear = newValue }
    }

    /// linear(name, x) for each name, in order, as `linear` gives them. Without gradients, while the hooks
    /// are the defaults (`ExecutionContext.defaultLinears`) and every name's weight multiplies this input
    /// straight from its rows (decoding: packed weights, or dense ones in a generation), they run as one
    /// parallel job (`linearGroup`, bit-identical to one at a time); otherwise one after another.
    public static func linears(_ names: [String], _ x: Tensor) throws -> [Tensor] {
        let context = ExecutionContext.current
        if names.count > 1, context.defaultLinears, !GradMode.isEnabled {
            let store = context.parameters
            let weights = names.compactMap { name -> LinearWeight? in
                if let p = store.packed[name + ".weight"] ?? store.packed[name] { return .packed(p) }
                return (store[name + ".weight"] ?? store[name]).map { .dense($0) }
            }
            if weights.count == names.count, let outs = try linearGroup(x, weights, biases: names.map { store[$0 + ".bias"] }) {
                return outs
            }
        }
        return try names.map { try linear($0, x) }
    }

    /// The dense default of `linear`, for hooks that wrap it.
    public static func denseLinear(_ name: String, _ x: Tensor) throws -> Tensor {
        let store = ParameterStore.active
        if let p = store.packed[name + ".weight"] ?? store.packed[name] { return try packedLinear(x, p, bias: store[name + ".bias"]) }
        guard let w = store[name + ".weight"] ?? store[name] else { throw HookError("linear: no parameter named '\(name).weight' or '\(name)'") }
        guard w.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == w.shape[1] else {
            throw HookError("linear '\(name)': input \(x.shape) does not fit weight \(w.shape) ([out, in])")
        }
        let bias = store[name + ".bias"]
        if let bias, bias.shape != [w.shape[0]] { throw HookError("linear '\(name)': bias \(bias.shape) does not fit weight \(w.shape)") }
        if let out = try linearGroup(x, [.dense(w)], biases: [bias]) { return out[0] }  // a generation's decoding step
        return FactoryEngine.linear(x, w, bias: bias)
    }

    /// attention(q, k, v, mask, params): the reference attention by default.
    public static var attention: AttentionHook {
        get { ExecutionContext.current.attention }
        set { ExecutionContext.current.attention = newValue }
    }

    /// `attention`, except in a generation's decoding step (one query per row: DecodeAttention, reading the
    /// KV cache in place, whatever kernel is installed) and in a batched step the decode attention cannot
    /// serve (RaggedKeys.lengths set): there each row attends over its own keys only, exactly as when it is
    /// decoded alone, whatever the kernel and its sliding window.
    public static func attentionByRow(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ mask: Tensor?, _ p: AttentionParams) throws -> Tensor {
        if DecodeAttention.serves(q: q, k: k, v: v, mask: mask, lengths: RaggedKeys.lengths) {
            return DecodeAttention.attention(q: q, k: k, v: v, lengths: RaggedKeys.lengths, params: p)
        }
        guard let lengths = RaggedKeys.lengths else { return try attention(q, k, v, mask, p) }
        guard q.rank == 4, k.rank == 4, v.rank == 4, lengths.count == q.shape[0], k.shape[2] == lengths.max() else {
            throw HookError("attention in a batched decoding step must read the KV cache's keys: q \(q.shape), k \(k.shape), \(lengths.count) rows")
        }
        let rows = try lengths.enumerated().map { r, n in
            try attention(q.slice(axis: 0, start: r, length: 1), k.slice(axis: 0, start: r, length: 1).slice(axis: 2, start: 0, length: n),
                          v.slice(axis: 0, start: r, length: 1).slice(axis: 2, start: 0, length: n), nil, p)
        }
        return rows.count == 1 ? rows[0] : concat(rows, axis: 0)
    }

    /// The host's own attention, the default of `attention` when no kernel plugin is installed.
    public static let referenceAttention: (Tensor, Tensor, Tensor, Tensor?, AttentionParams) throws -> Tensor = { q, k, v, mask, p in
        attentionReference(q: q, k: k, v: v, mask: mask, params: p)
    }
}

/// What a checkpointed block saw in forward — its context, and that context's hooks, parameter store
/// and rotary positions at that moment — restored when backward re-runs it (by then the forward call
/// has returned and the hooks may have changed).
public struct ForwardSnapshot {
    let context: ExecutionContext
    let store: ParameterStore
    let linear: LinearHook
    let baseLinear: LinearHook
    let attention: AttentionHook
    let rotaryPositions: [Int]?

    public static func capture() -> ForwardSnapshot {
        let c = ExecutionContext.current
        return ForwardSnapshot(context: c, store: c.parameters, linear: c.linear, baseLinear: c.baseLinear, attention: c.attention,
                               rotaryPositions: c.rotaryPositions)
    }

    /// Runs `body` in the forward's context with the forward's state, then puts back what was there.
    public func installed<T>(_ body: () throws -> T) rethrows -> T {
        try context.run {
            let c = context
            let now = (c.parameters, c.linear, c.baseLinear, c.attention, c.rotaryPositions)
            (c.parameters, c.linear, c.baseLinear, c.attention, c.rotaryPositions) = (store, linear, baseLinear, attention, rotaryPositions)
            defer { (c.parameters, c.linear, c.baseLinear, c.attention, c.rotaryPositions) = now }
            return try body()
        }
    }
}
