import CFactoryABI
import FactoryEngine
import FactoryJSON

/// What an attention kernel declared (factory_attention_info_t).
public struct AttentionDeclaration: Sendable {
    public let score: Int32
    public let memoryEfficient: Bool
    public let causal: Bool
    public let paddingMask: Bool
    public let packedSequences: Bool
    public let groupedQuery: Bool
    public let slidingWindow: Bool
    public let logitSoftcap: Bool
    public let backward: Bool
    /// 0 = any head size.
    public let maxHeadDim: Int

    /// The first thing `problem` needs that this kernel did not declare, or nil when it can run it.
    public func missing(for p: AttentionProblem, training: Bool) -> String? {
        if p.params.causal && !causal { return "causal masking" }
        if p.segments != nil && !paddingMask { return "padding masks" }
        if p.packed && !packedSequences { return "packed sequences (neat_packing)" }
        if p.kvHeads != p.qHeads && !groupedQuery { return "grouped-query attention" }
        if p.params.slidingWindow != nil && !slidingWindow { return "sliding windows" }
        if p.params.softcap != nil && !logitSoftcap { return "logit soft-capping" }
        if maxHeadDim > 0 && max(p.headDim, p.valueDim) > maxHeadDim { return "head size \(max(p.headDim, p.valueDim)) (max \(maxHeadDim))" }
        if training && !backward { return "a backward pass (training)" }
        return nil
    }

    /// What it supports, for `plugins inspect` and run plans.
    public var summary: String {
        let features = [(causal, "causal"), (paddingMask, "padding"), (packedSequences, "packed"), (groupedQuery, "GQA"),
                        (slidingWindow, "window"), (logitSoftcap, "softcap"), (backward, "backward")].filter(\.0).map(\.1)
        return "score \(score), \(memoryEfficient ? "memory-efficient" : "materialised scores"), \(features.joined(separator: "/"))"
    }
}

/// An attention kernel plugin instance seen from the host: the engine's AttentionKernel over the C table.
public final class AttentionKernelInstance: ComponentInstance, AttentionKernel {
    private var k: UnsafePointer<factory_attention_kernel_t> { UnsafeRawPointer(base).assumingMemoryBound(to: factory_attention_kernel_t.self) }
    public var name: String { component.name }
    /// Read once: the info struct is fixed for the instance's life.
    public private(set) var declared: AttentionDeclaration!

    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        guard Int(base.pointee.struct_size) >= MemoryLayout<factory_attention_kernel_t>.offset(of: \.saved_size)! else {
            throw PluginCallError(component: component.name, call: "create", status: FACTORY_ERR_INTERNAL.rawValue,
                                  message: "instance table is \(base.pointee.struct_size) bytes, too small for an attention kernel")
        }
        declared = try declaration()
    }

    /// Whether the plugin computes (ABI 1.3 forward/backward).
    public var computes: Bool {
        has(factory_attention_kernel_t.self, \.backward) && k.pointee.forward != nil && k.pointee.saved_size != nil
    }

    public func declaration() throws -> AttentionDeclaration {
        guard let infoFn = k.pointee.info, let info = infoFn(k), Int(info.pointee.struct_size) >= MemoryLayout<factory_attention_info_t>.size else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue, message: "no well-formed info struct")
        }
        let i = info.pointee
        return AttentionDeclaration(score: i.score, memoryEfficient: i.memory_efficient, causal: i.causal, paddingMask: i.padding_mask,
                                    packedSequences: i.packed_sequences, groupedQuery: i.grouped_query, slidingWindow: i.sliding_window,
                                    logitSoftcap: i.logit_softcap, backward: i.backward, maxHeadDim: Int(i.max_head_dim))
    }

    /// The C form of `p`, valid inside `body`.
    private func withProblem<R>(_ p: AttentionProblem, _ body: (UnsafePointer<factory_attention_problem_t>) throws -> R) rethrows -> R {
        func run(_ segments: UnsafePointer<Int32>?) throws -> R {
            var c = factory_attention_problem_t()
            c.struct_size = UInt32(MemoryLayout<factory_attention_problem_t>.size)
            (c.batch, c.q_heads, c.kv_heads) = (Int32(p.batch), Int32(p.qHeads), Int32(p.kvHeads))
            (c.q_len, c.kv_len, c.head_dim, c.value_dim) = (Int32(p.queries), Int32(p.keys), Int32(p.headDim), Int32(p.valueDim))
            c.params = factory_attention_params_t(struct_size: UInt32(MemoryLayout<factory_attention_params_t>.size), scale: p.params.scale,
                                                  causal: p.params.causal, sliding_window: Int32(p.params.slidingWindow ?? 0),
                                                  softcap: p.params.softcap ?? 0)
            c.segments = segments
            c.packed = p.packed
            return try body(&c)
        }
        if let s = p.segments { return try s.withUnsafeBufferPointer { try run($0.baseAddress) } }
        return try run(nil)
    }

    private func refuseUnsupported(_ p: AttentionProblem, training: Bool) throws {
        guard computes else {
            throw PluginCallError(component: name, call: "forward", status: FACTORY_ERR_UNSUPPORTED.rawValue,
                                  message: "the plugin only declares itself (built for ABI < 1.3: no forward/backward)")
        }
        if let what = declared.missing(for: p, training: training) {
            throw PluginCallError(component: name, call: "forward", status: FACTORY_ERR_UNSUPPORTED.rawValue,
                                  message: "this run needs \(what), which the kernel does not declare; choose another with attention_kernel: or flash_attn:")
        }
    }

    public func savedCount(_ p: AttentionProblem) throws -> Int {
        try refuseUnsupported(p, training: false)
        let f = k.pointee.saved_size!
        let (n, slot) = withProblem(p) { c in ErrorSlot.capture { err in f(UnsafeMutablePointer(mutating: k), c, err) } }
        guard n >= 0 else { throw PluginCallError(component: name, call: "saved_size", status: slot.status, message: slot.describe(status: slot.status)) }
        return Int(n)
    }

    public func forward(_ p: AttentionProblem, q: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws {
        try refuseUnsupported(p, training: saved != nil)
        let f = k.pointee.forward!, table = UnsafeMutablePointer(mutating: k)
        try withProblem(p) { c in try call("forward") { err in f(table, c, q, kp, v, out, saved, err) } }
    }

    public func backward(_ p: AttentionProblem, q: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                         dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws {
        try refuseUnsupported(p, training: true)
        guard let f = k.pointee.backward else {
            throw PluginCallError(component: name, call: "backward", status: FACTORY_ERR_UNSUPPORTED.rawValue, message: "the plugin has no backward()")
        }
        let table = UnsafeMutablePointer(mutating: k)
        try withProblem(p) { c in try call("backward") { err in f(table, c, q, kp, v, out, dout, saved, dq, dk, dv, err) } }
    }
}
