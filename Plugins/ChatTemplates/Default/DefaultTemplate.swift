// LLaMA-Factory's `default` template: "System: {content}{eos}\n", "Human: {content}{eos}\nAssistant:",
// answers "{content}{eos}\n".
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `default` chat template.
final class DefaultTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.default", name: "default", version: "1.0.0", vendor: "Factory",
        summary: "LLaMA-Factory's default (System: / Human: / Assistant:)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "default")
        t.eos = "</s>"
        t.defaultSystemRule = .whenAbsentOrEmpty
        t.system = .turn("System: {content}{eos}\n")
        t.user = "Human: {content}{eos}\nAssistant:"
        t.assistantBody = "{content}{eos}\n"
        t.toolFormat = .default  // LLaMA-Factory gives this template its default tool format
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [DefaultTemplate.self]) }
}
