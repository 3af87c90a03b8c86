// The Qwen2.5 template. Matches Qwen2.5-7B-Instruct's published chat template, tools included:
// ChatML, Qwen's default system prompt when the conversation has none, the tools after it,
// calls as "<tool_call>" blocks, tool results as "<tool_response>" blocks inside one user turn per
// run of consecutive results (Fixtures/templates/tool_cases.json).
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `qwen` chat template.
final class QwenTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.qwen", name: "qwen", version: "1.0.0", vendor: "Factory",
        summary: "Qwen2.5 (ChatML with Qwen's default system prompt)")

    static let format: TurnTemplate = {
        var t = TurnTemplate.chatML(name: "qwen")
        t.defaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        t.defaultSystemRule = .whenAbsent
        QwenTools.apply(to: &t, rawStringArguments: false)
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [QwenTemplate.self]) }
}
