// The Qwen3 template with thinking on. Matches Qwen3-0.6B's published chat template, tools
// included: ChatML, no default system prompt, tools and calls as Qwen2.5 writes them, and
// every answer after the last user turn rendered as "<think>\n{reasoning}\n</think>\n\n{answer}"
// (the final one always, with empty reasoning when it has none); earlier answers lose their
// reasoning. `enable_thinking: false` in the render options adds the empty think block to
// the generation prompt, as the model's template does.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `qwen3` chat template.
final class Qwen3Template: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.qwen3", name: "qwen3", version: "1.0.0", vendor: "Factory",
        summary: "Qwen3 with thinking (ChatML, <think> block on the final answer)")

    static let format: TurnTemplate = {
        var t = TurnTemplate.chatML(name: "qwen3")
        QwenTools.apply(to: &t, rawStringArguments: true)
        QwenThinking.apply(to: &t, thinkingByDefault: true)
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [Qwen3Template.self]) }
}
