// Gradient checkpointing: a block runs without recording; during backward its
// forward is re-run with recording and back-propagated at once. Parameters
// used inside the block receive their gradients during that inner pass.
// Results are identical to running the block normally as long as the block is
// deterministic (dropout takes explicit seeds).

/// Whether checkpoint blocks actually checkpoint (`disable_gradient_checkpointing` turns it off),
/// and whether they keep the outputs of the base model's linears (the GEMMs) so that backward
/// re-runs only the cheap part of a block.
/// (The current ExecutionContext's.)
public enum GradientCheckpointing {
    public static var enabled: Bool {
        get { ExecutionContext.current.checkpointing }
        set { ExecutionContext.current.checkpointing = newValue }
    }
    public static var keepLinearOutputs: Bool {
        get { ExecutionContext.current.keepLinearOutputs }
        set { ExecutionContext.current.keepLinearOutputs = newValue }
    }
}

/// Runs `body(input)` without keeping its activations; backward re-runs it, recording, with the
/// hooks and parameter store of the forward (ForwardSnapshot), and back-propagates through it. A
/// failure in forward throws; one while recomputing in backward is reported through
/// GradMode.backwardFailure.
///
/// Selective recomputation: while the block runs in forward, every call of the base model's
/// dense linear (EngineHooks.baseLinear) keeps its output; when backward re-runs the block, those
/// calls return the kept outputs, recorded with the linear's backward (dx = g·W, dW = gᵀ·x), so
/// the GEMMs of the forward are not computed twice. Attention through a kernel whose saved state
/// is small (flash: one log-sum-exp per row) is kept the same way (see kernelAttention). The
/// results are identical; the price is the memory of the kept outputs (about 45 MB per SmolLM2
/// layer at 4 × 512 tokens).
public func checkpoint(_ input: Tensor, _ body: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
    guard GradMode.enabled && GradientCheckpointing.enabled else { return try body(input) }
    let keep = GradientCheckpointing.keepLinearOutputs
    let kept = KeptOutputs()
    let output: Tensor = try GradMode.disabled {
        guard keep else { return try body(input) }
        let original = EngineHooks.baseLinear
        EngineHooks.baseLinear = { name, x in
            let y = try original(name, x)
            kept.linears.append(y)
            return y
        }
        let outer = KeptOutputs.keeping
        KeptOutputs.keeping = kept
        defer {
            EngineHooks.baseLinear = original
            KeptOutputs.keeping = outer
        }
        return try body(input)
    }
    let result = output.detached()
    result.requiresGrad = true
    let context = ForwardSnapshot.capture()
    result.node = Node(name: "checkpoint", inputs: [input]) { g in
        let leaf = input.detached()
        leaf.requiresGrad = input.requiresGrad
        do {
            let recomputed = try context.installed { () throws -> Tensor in
                guard keep else { return try GradMode.recording { try body(leaf) } }
                let original = EngineHooks.baseLinear
                var next = 0
                EngineHooks.baseLinear = { name, x in
                    guard next < kept.linears.count else { return try original(name, x) }
                    defer { next += 1 }
                    return try replayLinear(name, x, kept.linears[next])
                }
                let outer = (KeptOutputs.keeping, KeptOutputs.replaying)
                (KeptOutputs.keeping, KeptOutputs.replaying) = (nil, kept)
                defer {
                    EngineHooks.baseLinear = original
                    (KeptOutputs.keeping, KeptOutputs.replaying) = outer
                }
                return try GradMode.recording { try body(leaf) }
            }
            kept.linears = []
            kept.attention = []
            recomputed.backward(g)
        } catch {
            if GradMode.backwardFailure == nil { GradMode.backwardFailure = "checkpointed block: \(error)" }
            return [nil]
        }
        return [leaf.requiresGrad ? leaf.grad : nil]
    }
    return result
}

/// Outputs of a block's base linears and kernel attention calls, kept from forward to backward.
/// `keeping` is the block whose forward is running; `replaying` the one whose backward re-runs it.
final class KeptOutputs {
    static var keeping: KeptOutputs? {
        get { ExecutionContext.current.keeping }
        set { ExecutionContext.current.keeping = newValue }
    }
    static var replaying: KeptOutputs? {
        get { ExecutionContext.current.replaying }
        set { ExecutionContext.current.replaying = newValue }
    }
    var linears: [Tensor] = []
    /// (output, saved state) per attention call in order; nil where it was not kept.
    var attention: [(Tensor, Tensor)?] = []
    private var nextAttentionIndex = 0

    /// The next attention call's kept result (nil when not kept), in forward order.
    func nextAttention() -> (Tensor, Tensor)? {
        guard nextAttentionIndex < attention.count else { return nil }
        defer { nextAttentionIndex += 1 }
        return attention[nextAttentionIndex]
    }
}

/// The dense linear `name` applied to `x` whose output `y` is already known: y itself, recorded
/// with the linear's backward.
func replayLinear(_ name: String, _ x: Tensor, _ y: Tensor) throws -> Tensor {
    let store = ParameterStore.active
    if let p = store.packed[name + ".weight"] ?? store.packed[name] {  // a frozen packed weight: only dx
        guard y.shape == Array(x.shape.dropLast()) + [p.rows] else {
            throw HookError("checkpoint replay of '\(name)': kept output \(y.shape) does not fit input \(x.shape) (the block is not deterministic)")
        }
        guard let bias = store[name + ".bias"] else { return recordPackedLinear(y.detached(), x, p) }
        // the kept output includes the bias: record the GEMM part on y − b, then add b back for its gradient
        return add(recordPackedLinear(sub(y.detached(), bias), x, p), bias)
    }
    guard let w = store[name + ".weight"] ?? store[name] else { throw HookError("linear: no parameter named '\(name).weight' or '\(name)'") }
    let bias = store[name + ".bias"]
    guard y.shape == Array(x.shape.dropLast()) + [w.shape[0]] else {
        throw HookError("checkpoint replay of '\(name)': kept output \(y.shape) does not fit input \(x.shape) (the block is not deterministic)")
    }
    let out = y.detached()
    let inputs = [x, w] + (bias.map { [$0] } ?? [])
    return out.recorded("linear", inputs) { g in
        let rows = g.count / w.shape[0]
        let g2 = g.reshaped([rows, w.shape[0]])
        let gx: Tensor? = x.requiresGrad ? matmul(g2, w).reshaped(x.shape) : nil
        let gw: Tensor? = w.requiresGrad ? matmul(g2.transposed(), x.reshaped([rows, w.shape[1]])) : nil
        let gb: Tensor? = (bias?.requiresGrad ?? false) ? sum(g2, axis: 0) : nil
        return bias == nil ? [gx, gw] : [gx, gw, gb]
    }
}
