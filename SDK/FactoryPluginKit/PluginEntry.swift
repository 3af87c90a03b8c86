import CFactoryABI
import FactoryJSON

/// The components one plugin file provides, by kind. A Swift plugin builds
/// one of these in its exported entry function:
///
///     @_cdecl("factory_plugin_entry")
///     public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
///         PluginEntry.table { PluginManifest(quantizers: [MyQuantizer.self]) }
///     }
public struct PluginManifest {
    public var modelFamilies: [any ModelFamilyPlugin.Type]
    public var chatTemplates: [any ChatTemplatePlugin.Type]
    public var finetuningMethods: [any FinetuningMethodPlugin.Type]
    public var quantizers: [any QuantizerPlugin.Type]
    public var attentionKernels: [any AttentionKernelPlugin.Type]

    public init(modelFamilies: [any ModelFamilyPlugin.Type] = [], chatTemplates: [any ChatTemplatePlugin.Type] = [],
                finetuningMethods: [any FinetuningMethodPlugin.Type] = [], quantizers: [any QuantizerPlugin.Type] = [],
                attentionKernels: [any AttentionKernelPlugin.Type] = []) {
        self.modelFamilies = modelFamilies
        self.chatTemplates = chatTemplates
        self.finetuningMethods = finetuningMethods
        self.quantizers = quantizers
        self.attentionKernels = attentionKernels
    }
}

/// The five ABI kinds, in the order of the slots below.
enum Kind: Int, CaseIterable {
    case modelFamily, chatTemplate, finetuningMethod, quantizer, attentionKernel

    var id: String {
        switch self {
        case .modelFamily: return FACTORY_KIND_MODEL_FAMILY
        case .chatTemplate: return FACTORY_KIND_CHAT_TEMPLATE
        case .finetuningMethod: return FACTORY_KIND_FINETUNING_METHOD
        case .quantizer: return FACTORY_KIND_QUANTIZER
        case .attentionKernel: return FACTORY_KIND_ATTENTION_KERNEL
        }
    }
}

/// One kind's components, descriptors and C factory.
final class KindSlot {
    let types: [any PluginComponent.Type]
    let bind: (InstanceBox) throws -> UnsafePointer<factory_instance_t>
    var descriptors: UnsafeMutablePointer<factory_descriptor_t>?
    var factory = factory_factory_t()

    init(_ types: [any PluginComponent.Type], _ bind: @escaping (InstanceBox) throws -> UnsafePointer<factory_instance_t>) {
        self.types = types
        self.bind = bind
    }
}

/// Turns a PluginManifest into the C entry table and serves the factories.
/// State is per plugin file (each plugin links its own copy of the kit).
public enum PluginEntry {
    nonisolated(unsafe) static var entry: UnsafeMutablePointer<factory_entry_t>?
    nonisolated(unsafe) static var slots: [KindSlot] = []
    nonisolated(unsafe) static var refcount = 0
    nonisolated(unsafe) static let memory = CAllocations()
    nonisolated(unsafe) static var factories: UnsafeMutablePointer<factory_factory_t>?

    /// The entry table for the manifest `make` returns; built on the first call, the same pointer afterwards.
    public static func table(_ make: () -> PluginManifest) -> UnsafePointer<factory_entry_t> {
        if let entry { return UnsafePointer(entry) }
        let m = make()
        slots = [
            KindSlot(m.modelFamilies, ModelFamilyBinding.table),
            KindSlot(m.chatTemplates, ChatTemplateBinding.table),
            KindSlot(m.finetuningMethods, FinetuningMethodBinding.table),
            KindSlot(m.quantizers, QuantizerBinding.table),
            KindSlot(m.attentionKernels, AttentionKernelBinding.table),
        ]
        let e = UnsafeMutablePointer<factory_entry_t>.allocate(capacity: 1)
        e.initialize(to: factory_entry_t(
            abi_version: factory_version_t(major: UInt32(FACTORY_ABI_MAJOR), minor: UInt32(FACTORY_ABI_MINOR), patch: UInt32(FACTORY_ABI_PATCH)),
            struct_size: UInt32(MemoryLayout<factory_entry_t>.size),
            build_info: UnsafePointer(strdup_(swiftBuildInfo)),
            init: { host, path, err in PluginEntry.initialize(host, path, err) },
            deinit: { PluginEntry.deinitialize() },
            get_factory: { kind in PluginEntry.factory(kind) }))
        entry = e
        return UnsafePointer(e)
    }

    static func initialize(_ host: UnsafePointer<factory_host_api_t>?, _ path: UnsafePointer<CChar>?, _ err: OpaquePointer?) -> factory_status_t {
        guard let host else { return FACTORY_ERR_INVALID_ARGUMENT.rawValue }
        refcount += 1
        if refcount > 1 { return FACTORY_OK.rawValue }
        Host.api = host
        Host.pluginPath = path.map { String(cString: $0) } ?? ""
        for (index, slot) in slots.enumerated() {
            let list = UnsafeMutablePointer<factory_descriptor_t>.allocate(capacity: max(1, slot.types.count))
            for (i, type) in slot.types.enumerated() {
                let d = type.descriptor
                list[i] = factory_descriptor_t(
                    struct_size: UInt32(MemoryLayout<factory_descriptor_t>.size), id: memory.string(d.id), name: memory.string(d.name),
                    version: memory.string(d.version), vendor: memory.string(d.vendor), description: memory.string(d.summary),
                    features: memory.stringList(d.features))
            }
            slot.descriptors = list
            slot.factory = makeFactory(Kind(rawValue: index) ?? .modelFamily)
        }
        return FACTORY_OK.rawValue
    }

    static func deinitialize() {
        guard refcount > 0 else { return }
        refcount -= 1
        guard refcount == 0 else { return }
        for slot in slots {
            slot.descriptors?.deallocate()
            slot.descriptors = nil
        }
        memory.release()
        Host.api = nil
    }

    static func factory(_ kindID: UnsafePointer<CChar>?) -> UnsafePointer<factory_factory_t>? {
        guard let kindID, refcount > 0 else { return nil }
        let id = String(cString: kindID)
        guard let kind = Kind.allCases.first(where: { $0.id == id }), !slots[kind.rawValue].types.isEmpty else { return nil }
        return withUnsafePointer(to: &slots[kind.rawValue].factory) { $0 }
    }

    static func count(_ kind: Kind) -> UInt32 {
        refcount > 0 ? UInt32(slots[kind.rawValue].types.count) : 0
    }

    static func descriptor(_ kind: Kind, _ index: UInt32) -> UnsafePointer<factory_descriptor_t>? {
        let slot = slots[kind.rawValue]
        guard refcount > 0, Int(index) < slot.types.count, let list = slot.descriptors else { return nil }
        return UnsafePointer(list + Int(index))
    }

    static func create(_ kind: Kind, _ name: UnsafePointer<CChar>?, _ config: UnsafePointer<CChar>?, _ length: UInt64,
                       _ err: OpaquePointer?) -> UnsafePointer<factory_instance_t>? {
        var result: UnsafePointer<factory_instance_t>?
        _ = reportingErrors(err) {
            guard refcount > 0 else { throw PluginError(FACTORY_ERR_INTERNAL, "create() called before init()") }
            guard let name else { throw PluginError.invalidArgument("component name is NULL") }
            let wanted = String(cString: name)
            let slot = slots[kind.rawValue]
            guard let type = slot.types.first(where: { $0.descriptor.name == wanted }) else {
                throw PluginError.notFound("no \(kind.id) component named '\(wanted)' in this plugin")
            }
            let json = try parseJSON(config, length, "config of '\(wanted)'")
            guard let object = json.objectValue else { throw PluginError.invalidArgument("config of '\(wanted)' must be a JSON object") }
            let reader = ConfigReader(object, component: wanted)
            let instance = try type.init(config: reader)
            try reader.finish()
            result = try slot.bind(InstanceBox(instance))
        }
        return result
    }
}
