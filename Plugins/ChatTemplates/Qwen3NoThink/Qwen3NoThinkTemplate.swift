// Qwen3 with thinking off: Qwen3-0.6B's published chat template rendered with
// enable_thinking=false, so the generation prompt ends with an empty think block and the
// model answers directly. Everything else is the qwen3 template.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `qwen3_nothink` chat template.
final class Qwen3NoThinkTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.qwen3_nothink", name: "qwen3_nothink", version: "1.0.0", vendor: "Factory",
        summary: "Qwen3 with thinking off (empty <think> block in the generation prompt)")

    static let format: TurnTemplate = {
        var t = TurnTemplate.chatML(name: "qwen3_nothink")
        QwenTools.apply(to: &t, rawStringArguments: true)
        QwenThinking.apply(to: &t, thinkingByDefault: false)
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [Qwen3NoThinkTemplate.self]) }
}
