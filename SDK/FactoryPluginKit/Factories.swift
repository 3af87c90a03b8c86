import CFactoryABI

#if canImport(Glibc)
import Glibc
#endif

/// The C factory table of `kind`. Each kind needs its own capture-free thunks,
/// so the kind is spelled out in each closure.
func makeFactory(_ kind: Kind) -> factory_factory_t {
    let size = UInt32(MemoryLayout<factory_factory_t>.size)
    switch kind {
    case .modelFamily:
        return factory_factory_t(struct_size: size, count: { PluginEntry.count(.modelFamily) },
                                 descriptor: { PluginEntry.descriptor(.modelFamily, $0) },
                                 create: { PluginEntry.create(.modelFamily, $0, $1, $2, $3) })
    case .chatTemplate:
        return factory_factory_t(struct_size: size, count: { PluginEntry.count(.chatTemplate) },
                                 descriptor: { PluginEntry.descriptor(.chatTemplate, $0) },
                                 create: { PluginEntry.create(.chatTemplate, $0, $1, $2, $3) })
    case .finetuningMethod:
        return factory_factory_t(struct_size: size, count: { PluginEntry.count(.finetuningMethod) },
                                 descriptor: { PluginEntry.descriptor(.finetuningMethod, $0) },
                                 create: { PluginEntry.create(.finetuningMethod, $0, $1, $2, $3) })
    case .quantizer:
        return factory_factory_t(struct_size: size, count: { PluginEntry.count(.quantizer) },
                                 descriptor: { PluginEntry.descriptor(.quantizer, $0) },
                                 create: { PluginEntry.create(.quantizer, $0, $1, $2, $3) })
    case .attentionKernel:
        return factory_factory_t(struct_size: size, count: { PluginEntry.count(.attentionKernel) },
                                 descriptor: { PluginEntry.descriptor(.attentionKernel, $0) },
                                 create: { PluginEntry.create(.attentionKernel, $0, $1, $2, $3) })
    }
}

/// A C copy of `s` that lives as long as the plugin (the entry's build_info).
func strdup_(_ s: String) -> UnsafeMutablePointer<CChar> { strdup(s)! }

/// "swift-X.Y" of the compiler that built this plugin, for the entry's build_info.
let swiftBuildInfo: String = {
    #if compiler(>=6.5)
    return "swift-6.5+"
    #elseif compiler(>=6.4)
    return "swift-6.4"
    #elseif compiler(>=6.3)
    return "swift-6.3"
    #elseif compiler(>=6.2)
    return "swift-6.2"
    #else
    return "swift-older-than-6.2"
    #endif
}()
