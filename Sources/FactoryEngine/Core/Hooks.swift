// The two hookable calls of the design: linear(name, x) and attention(q, k, v).
// Models call them; the pipeline routes them to the chosen quantizer,
// fine-tuning method and attention kernel by replacing these closures. The
// defaults are the dense weight from the parameter store and the reference attention.

/// Named parameters (HF checkpoint names) that linear(name:) reads. Each loaded
/// model owns one; `active` is the one the hooks read (the model running now).
public final class ParameterStore: @unchecked Sendable {
    /// The store of the model that is loading or running.
    nonisolated(unsafe) public static var active = ParameterStore()
    private var tensors: [String: Tensor] = [:]
    /// Frozen linear weights kept packed by a quantizer, by parameter name ("….weight"); the base
    /// linear reads them in place of a dense weight.
    public var packed: [String: PackedWeight] = [:]
    /// While a model loads: packs a weight as it is registered (nil = keep it dense), so a quantized
    /// base never holds all its fp32 weights at once.
    public var packOnRegister: ((String, Tensor) throws -> PackedWeight?)?

    public init() {}

    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    public var names: [String] { tensors.keys.sorted() }
    public func removeAll() {
        tensors.removeAll()
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
    nonisolated(unsafe) public static var linear: (String, Tensor) throws -> Tensor = { name, x in
        try baseLinear(name, x)
    }

    /// The base model's own linear (dense by default; a quantizer replaces it).
    nonisolated(unsafe) public static var baseLinear: (String, Tensor) throws -> Tensor = { name, x in
        try denseLinear(name, x)
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
        return FactoryEngine.linear(x, w, bias: bias)
    }

    /// attention(q, k, v, mask, params): the reference attention by default.
    nonisolated(unsafe) public static var attention: (Tensor, Tensor, Tensor, Tensor?, AttentionParams) throws -> Tensor = referenceAttention

    /// The host's own attention, the default of `attention` when no kernel plugin is installed.
    public static let referenceAttention: (Tensor, Tensor, Tensor, Tensor?, AttentionParams) throws -> Tensor = { q, k, v, mask, p in
        attentionReference(q: q, k: k, v: v, mask: mask, params: p)
    }
}

/// The hooks, the active parameter store and the batch's rotary positions at one moment: what a checkpointed block saw in
/// forward, restored when backward re-runs it (by then the forward call has returned).
public struct EngineContext {
    let store: ParameterStore
    let linear: (String, Tensor) throws -> Tensor
    let baseLinear: (String, Tensor) throws -> Tensor
    let attention: (Tensor, Tensor, Tensor, Tensor?, AttentionParams) throws -> Tensor
    let rotaryPositions: [Int]?

    public static func capture() -> EngineContext {
        EngineContext(store: ParameterStore.active, linear: EngineHooks.linear, baseLinear: EngineHooks.baseLinear, attention: EngineHooks.attention,
                      rotaryPositions: RotaryPositions.perRow)
    }

    /// Runs `body` with this context installed, then puts back the current one.
    public func installed<T>(_ body: () throws -> T) rethrows -> T {
        let now = EngineContext.capture()
        ParameterStore.active = store
        EngineHooks.linear = linear
        EngineHooks.baseLinear = baseLinear
        EngineHooks.attention = attention
        RotaryPositions.perRow = rotaryPositions
        defer {
            RotaryPositions.perRow = now.rotaryPositions
            ParameterStore.active = now.store
            EngineHooks.linear = now.linear
            EngineHooks.baseLinear = now.baseLinear
            EngineHooks.attention = now.attention
        }
        return try body()
    }
}
