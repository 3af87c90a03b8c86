// The Llama 2 Chat template. Matches Llama-2-7b-chat-hf's published chat template: every
// user turn is "{bos}[INST] {content.strip()} [/INST]", the system prompt is folded into the
// first one as "<<SYS>>\n{system}\n<</SYS>>\n\n", every answer is " {content.strip()} {eos}".
// (LLaMA-Factory's llama2 drops the spaces around the answer; the model's own template wins.)
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `llama2` chat template.
final class Llama2Template: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.llama2", name: "llama2", version: "1.0.0", vendor: "Factory",
        summary: "Llama 2 Chat ([INST] ... [/INST], <<SYS>> in the first turn)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "llama2")
        t.bos = "<s>"
        t.eos = "</s>"
        t.system = .intoFirstUser("<<SYS>>\n{content}\n<</SYS>>\n\n")
        t.user = "{bos}[INST] {content} [/INST]"
        t.trimMergedUser = true
        t.assistantBody = " {content} {eos}"
        t.assistantContent = { index, messages, _ in messages[index].content.trimmingWhitespace() }
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [Llama2Template.self]) }
}
