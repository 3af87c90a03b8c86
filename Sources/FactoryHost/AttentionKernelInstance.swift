import CFactoryABI
import FactoryJSON

/// What an attention kernel declared.
public struct AttentionDeclaration: Sendable {
    public let score: Int32
    public let memoryEfficient: Bool
    public let backward: Bool
}

/// An attention kernel plugin instance seen from the host.
public final class AttentionKernelInstance: ComponentInstance {
    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        _ = try table(factory_attention_kernel_t.self)
    }

    public func declaration() throws -> AttentionDeclaration {
        let k = try table(factory_attention_kernel_t.self)
        guard let infoFn = k.pointee.info, let info = infoFn(k), Int(info.pointee.struct_size) >= MemoryLayout<factory_attention_info_t>.size else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue, message: "no well-formed info struct")
        }
        return AttentionDeclaration(score: info.pointee.score, memoryEfficient: info.pointee.memory_efficient, backward: info.pointee.backward)
    }
}
