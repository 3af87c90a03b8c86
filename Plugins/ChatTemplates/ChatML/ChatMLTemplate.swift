// The ChatML template (LLaMA-Factory's `chatml`): every message is
// "<|im_start|>{role}\n{content}<|im_end|>\n", with no default system prompt; tool
// results use the "tool" role. The assistant header is masked in training;
// "{content}<|im_end|>\n" of every assistant turn is learned.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// ChatML.
final class ChatMLTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.chatml", name: "chatml", version: "1.1.0", vendor: "Factory",
        summary: "ChatML (<|im_start|>role ... <|im_end|>), no default system prompt")

    static let format: TurnTemplate = {
        var t = TurnTemplate.chatML(name: "chatml")
        t.observation = "<|im_start|>tool\n{content}<|im_end|>\n"
        t.toolFormat = .default  // ChatML publishes no tool format: LLaMA-Factory's default one
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [ChatMLTemplate.self]) }
}
