import CFactoryABI

/// What an attention kernel supports (see factory_attention_info_t).
public struct AttentionInfo: Sendable {
    public var score: Int32 = 1
    public var memoryEfficient = false
    public var causal = true
    public var paddingMask = false
    public var packedSequences = false
    public var groupedQuery = false
    public var slidingWindow = false
    public var logitSoftcap = false
    public var backward = false
    public var maxHeadDim: UInt32 = 0
    public init() {}
}

/// One attention call (factory_attention_problem_t), with the visibility rule of
/// kinds/attention_kernel.h as methods. Pointers are valid for the call only.
public struct AttentionProblem {
    public let batch: Int, qHeads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int
    public let scale: Float
    public let causal: Bool
    /// 0 = no window.
    public let slidingWindow: Int
    /// 0 = no soft cap.
    public let softcap: Float
    /// [batch × keys] sample numbers (0 = padding), or nil.
    public let segments: UnsafePointer<Int32>?
    public let packed: Bool

    init(_ c: factory_attention_problem_t) {
        (batch, qHeads, kvHeads, queries, keys) = (Int(c.batch), Int(c.q_heads), Int(c.kv_heads), Int(c.q_len), Int(c.kv_len))
        (headDim, valueDim) = (Int(c.head_dim), Int(c.value_dim))
        (scale, causal, slidingWindow, softcap) = (c.params.scale, c.params.causal, Int(c.params.sliding_window), c.params.softcap)
        segments = c.segments
        packed = c.packed
    }

    /// Query heads per kv head.
    public var group: Int { qHeads / kvHeads }
    /// Key position of query 0 (keys − queries: the cached prefix).
    public var offset: Int { keys - queries }

    /// The keys query i may see by the causal and window rules alone.
    @inline(__always)
    public func keyRange(query i: Int) -> Range<Int> {
        let position = i + offset
        let hi = causal ? min(keys, position + 1) : keys
        let lo = slidingWindow > 0 ? max(0, position - slidingWindow + 1) : 0
        return lo..<max(lo, hi)
    }

    /// The full rule: whether query i of sequence b sees key j.
    @inline(__always)
    public func sees(b: Int, query i: Int, key j: Int) -> Bool {
        guard keyRange(query: i).contains(j) else { return false }
        guard let segments else { return true }
        let s = segments[b * keys + j]
        if s == 0 { return false }
        return !packed || s == segments[b * keys + max(0, i + offset)]
    }

    /// Whether segments can hide anything in sequence b (nil segments, or all one nonzero sample: no).
    public func segmentsMatter(b: Int) -> Bool {
        guard let segments else { return false }
        let first = segments[b * keys]
        if first == 0 { return true }
        for j in 1..<max(keys, 1) where segments[b * keys + j] != first { return true }
        return false
    }

    /// Checks the layout fields, for kernels to call first.
    public func validate() throws {
        guard batch > 0, qHeads > 0, kvHeads > 0, queries > 0, keys > 0, headDim > 0, valueDim > 0, qHeads % kvHeads == 0 else {
            throw PluginError.invalidArgument("attention problem: batch \(batch), heads \(qHeads)/\(kvHeads), lengths \(queries)/\(keys), dims \(headDim)/\(valueDim)")
        }
    }
}

/// An attention kernel component. Kernels that compute (ABI 1.3) implement savedSize, forward and
/// backward; the defaults refuse.
public protocol AttentionKernelPlugin: PluginComponent {
    var info: AttentionInfo { get }
    /// Floats forward() keeps for backward().
    func savedSize(_ p: AttentionProblem) throws -> Int
    /// Fills `out` (and `saved`, when not nil).
    func forward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws
    /// Adds the gradients into dq, dk, dv.
    func backward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws
}

extension AttentionKernelPlugin {
    public func savedSize(_ p: AttentionProblem) throws -> Int { throw PluginError.unsupported("this kernel only declares itself") }
    public func forward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws {
        throw PluginError.unsupported("this kernel only declares itself")
    }
    public func backward(_ p: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                         dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws {
        throw PluginError.unsupported("this kernel has no backward")
    }
}

enum AttentionKernelBinding {
    static func table(_ box: InstanceBox) throws -> UnsafePointer<factory_instance_t> {
        let kernel = try component(of: box, as: (any AttentionKernelPlugin).self)
        let d = kernel.info
        let info = box.memory.block(factory_attention_info_t.self)
        info.pointee = factory_attention_info_t(
            struct_size: UInt32(MemoryLayout<factory_attention_info_t>.size), score: d.score, memory_efficient: d.memoryEfficient,
            causal: d.causal, padding_mask: d.paddingMask, packed_sequences: d.packedSequences, grouped_query: d.groupedQuery,
            sliding_window: d.slidingWindow, logit_softcap: d.logitSoftcap, backward: d.backward, max_head_dim: d.maxHeadDim)
        box.info = UnsafeRawPointer(info)
        return box.makeTable(factory_attention_kernel_t.self) { t in
            t.pointee.info = { selfPtr in declaredInfo(selfPtr, as: factory_attention_info_t.self) }
            t.pointee.saved_size = { selfPtr, problem, err in
                var n: Int64 = -1
                _ = reportingErrors(err) {
                    let kernel = try component(selfPtr, as: (any AttentionKernelPlugin).self)
                    let p = try AttentionKernelBinding.problemOf(problem)
                    try p.validate()
                    n = Int64(try kernel.savedSize(p))
                }
                return n
            }
            t.pointee.forward = { selfPtr, problem, q, k, v, out, saved, err in
                reportingErrors(err) {
                    let kernel = try component(selfPtr, as: (any AttentionKernelPlugin).self)
                    guard let q, let k, let v, let out else { throw PluginError.invalidArgument("forward: NULL buffer") }
                    let p = try AttentionKernelBinding.problemOf(problem)
                    try p.validate()
                    try kernel.forward(p, q: q, k: k, v: v, out: out, saved: saved)
                }
            }
            t.pointee.backward = { selfPtr, problem, q, k, v, out, dout, saved, dq, dk, dv, err in
                reportingErrors(err) {
                    let kernel = try component(selfPtr, as: (any AttentionKernelPlugin).self)
                    guard let q, let k, let v, let out, let dout, let saved, let dq, let dk, let dv else {
                        throw PluginError.invalidArgument("backward: NULL buffer")
                    }
                    let p = try AttentionKernelBinding.problemOf(problem)
                    try p.validate()
                    try kernel.backward(p, q: q, k: k, v: v, out: out, dout: dout, saved: saved, dq: dq, dk: dk, dv: dv)
                }
            }
        }
    }

    static func problemOf(_ c: UnsafePointer<factory_attention_problem_t>?) throws -> AttentionProblem {
        guard let c, Int(c.pointee.struct_size) >= MemoryLayout<factory_attention_problem_t>.size,
              Int(c.pointee.params.struct_size) >= MemoryLayout<factory_attention_params_t>.size else {
            throw PluginError.invalidArgument("attention problem is NULL or too small")
        }
        return AttentionProblem(c.pointee)
    }
}
