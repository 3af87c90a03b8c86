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

/// An attention kernel component.
public protocol AttentionKernelPlugin: PluginComponent {
    var info: AttentionInfo { get }
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
        }
    }
}
