// The Vicuna template, as LLaMA-Factory defines it (Vicuna ships no chat template):
// the default system prompt when there is none (or it is empty), user turns
// "USER: {content} ASSISTANT:", answers "{content}{eos}".
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `vicuna` chat template.
final class VicunaTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.vicuna", name: "vicuna", version: "1.0.0", vendor: "Factory",
        summary: "Vicuna v1.1 (USER: ... ASSISTANT:), LLaMA-Factory's layout")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "vicuna")
        t.bos = "<s>"
        t.eos = "</s>"
        t.defaultSystem = "A chat between a curious user and an artificial intelligence assistant. "
            + "The assistant gives helpful, detailed, and polite answers to the user's questions."
        t.defaultSystemRule = .whenAbsentOrEmpty
        t.user = "USER: {content} ASSISTANT:"
        t.assistantBody = "{content}{eos}"
        t.toolFormat = .default  // LLaMA-Factory gives this template its default tool format
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [VicunaTemplate.self]) }
}
