// The SmolLM2 chat template: ChatML with SmolLM2's default system prompt.
// Matches the chat_template of HuggingFaceTB/SmolLM2-135M-Instruct (tokenizer_config.json
// and the GGUF's tokenizer.chat_template): a conversation whose first message is not a
// system message starts with SmolLM2's default system turn; every message is
// "<|im_start|>{role}\n{content}<|im_end|>\n"; tool results are user turns.
// Training follows LLaMA-Factory's smollm2 template: the assistant header is masked,
// "{content}<|im_end|>\n" of every assistant turn is learned.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// SmolLM2's ChatML template.
final class SmolLM2Template: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.smollm2", name: "smollm2", version: "1.1.0", vendor: "Factory",
        summary: "ChatML with SmolLM2's default system prompt (matches the model's own chat template)")

    static let format: TurnTemplate = {
        var t = TurnTemplate.chatML(name: "smollm2")
        t.toolFormat = .default  // SmolLM2's template has none: LLaMA-Factory's default one
        t.defaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        t.defaultSystemRule = .whenAbsent
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [SmolLM2Template.self]) }
}
