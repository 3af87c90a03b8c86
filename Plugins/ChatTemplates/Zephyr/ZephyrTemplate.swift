// The Zephyr template. Matches HuggingFaceH4/zephyr-7b-beta's published chat template:
// "<|{role}|>\n{content}{eos}\n" per message, generation prompt "<|assistant|>\n". The model's
// template writes no default system prompt, so neither does this one (LLaMA-Factory's zephyr
// inserts "You are Zephyr, a helpful assistant." and drops the newlines after EOS).
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `zephyr` chat template.
final class ZephyrTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.zephyr", name: "zephyr", version: "1.0.0", vendor: "Factory",
        summary: "Zephyr (<|system|>, <|user|>, <|assistant|>, each turn ending in EOS)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "zephyr")
        t.bos = "<s>"
        t.eos = "</s>"
        t.system = .turn("<|system|>\n{content}{eos}\n")
        t.user = "<|user|>\n{content}{eos}\n"
        t.assistantHeader = "<|assistant|>\n"
        t.assistantBody = "{content}{eos}\n"
        t.generationPrompt = t.assistantHeader
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [ZephyrTemplate.self]) }
}
