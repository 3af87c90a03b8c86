import CFactoryABI
import FactoryEngine
import FactoryJSON

/// What a fine-tuning method declared, read from its info struct.
public struct FinetuningMethodDeclaration: Sendable {
    public let trainsBase: Bool
    public let quantizedBaseOK: Bool
    /// "peft" (adapter files) or "full" (model weights).
    public let adapterFormat: String
}

/// A fine-tuning method plugin instance seen from the host.
public final class FinetuningMethodInstance: ComponentInstance {
    private var m: UnsafePointer<factory_finetuning_method_t> { UnsafeRawPointer(base).assumingMemoryBound(to: factory_finetuning_method_t.self) }

    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        guard Int(base.pointee.struct_size) >= MemoryLayout<factory_finetuning_method_t>.offset(of: \.linear)! else {
            throw PluginCallError(component: component.name, call: "create", status: FACTORY_ERR_INTERNAL.rawValue,
                                  message: "instance table is \(base.pointee.struct_size) bytes, too small for a fine-tuning method")
        }
    }

    /// Whether the plugin provides linear() (ABI 1.2).
    var hasLinear: Bool {
        has(factory_finetuning_method_t.self, \.linear) && m.pointee.linear != nil
    }

    public func declaration() throws -> FinetuningMethodDeclaration {
        guard let infoFn = m.pointee.info, let info = infoFn(m),
              Int(info.pointee.struct_size) >= MemoryLayout<factory_finetuning_method_info_t>.size else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue, message: "no well-formed info struct")
        }
        let i = info.pointee
        return FinetuningMethodDeclaration(trainsBase: i.trains_base, quantizedBaseOK: i.quantized_base_ok,
                                           adapterFormat: i.adapter_format.map { String(cString: $0) } ?? "full")
    }

    /// The method's plan for a model (its describe() JSON).
    public func plan(model: JSON) throws -> JSON {
        guard let f = m.pointee.plan else {
            throw PluginCallError(component: component.name, call: "plan", status: FACTORY_ERR_INTERNAL.rawValue, message: "the plugin provides no plan")
        }
        let text = model.serialized()
        let out = ByteCollector()
        try out.withStream { stream in
            try call("plan") { err in text.withCString { f(m, $0, UInt64(text.utf8.count), stream, err) } }
        }
        do { return try JSON.parse(bytes: out.bytes) } catch {
            throw PluginCallError(component: component.name, call: "plan", status: FACTORY_ERR_INTERNAL.rawValue, message: "plan wrote invalid JSON")
        }
    }

    /// The method's linear for an adapted name, inside a forward pass.
    public func linear(_ name: String, _ x: Tensor) throws -> Tensor {
        guard hasLinear, let f = m.pointee.linear else {
            throw PluginCallError(component: component.name, call: "linear", status: FACTORY_ERR_UNSUPPORTED.rawValue, message: "the plugin provides no linear (ABI < 1.2)")
        }
        let handle = TensorHandles.scoped(x)
        var out: OpaquePointer?
        try call("linear") { err in name.withCString { f(m, $0, handle, &out, err) } }
        return try TensorHandles.tensor(out, "linear's result")
    }
}
