import CFactoryABI

/// The six kinds of plugin component, with their ABI ids and the config
/// key that selects one (for messages).
public enum PluginKind: String, CaseIterable, Sendable, Comparable {
    case modelFamily = "model-family"
    case chatTemplate = "chat-template"
    case finetuningMethod = "finetuning-method"
    case quantizer = "quantizer"
    case attentionKernel = "attention-kernel"
    /// Collectives for data-parallel training (ABI 1.10).
    case communicator = "communicator"

    /// The id passed to the entry's get_factory().
    public var abiID: String {
        switch self {
        case .modelFamily: return FACTORY_KIND_MODEL_FAMILY
        case .chatTemplate: return FACTORY_KIND_CHAT_TEMPLATE
        case .finetuningMethod: return FACTORY_KIND_FINETUNING_METHOD
        case .quantizer: return FACTORY_KIND_QUANTIZER
        case .attentionKernel: return FACTORY_KIND_ATTENTION_KERNEL
        case .communicator: return FACTORY_KIND_COMMUNICATOR
        }
    }

    public static func < (a: PluginKind, b: PluginKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Where a plugin file came from; a later source may override an earlier one.
public enum PluginSource: Int, Comparable, Sendable, CustomStringConvertible {
    /// The default plugin directory next to the executable.
    case defaultDirectory = 0
    /// A path in FACTORY_PLUGIN_PATH.
    case environment = 1
    /// A path given with --plugins (or `plugins:` in the config).
    case explicit = 2

    public static func < (a: PluginSource, b: PluginSource) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .defaultDirectory: return "default directory"
        case .environment: return "FACTORY_PLUGIN_PATH"
        case .explicit: return "--plugins"
        }
    }
}
