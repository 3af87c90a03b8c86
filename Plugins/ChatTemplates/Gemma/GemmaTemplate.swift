// The Gemma template. Matches gemma-2-2b-it's published chat template: BOS, then
// "<start_of_turn>{user|model}\n{content|trim}<end_of_turn>\n". The model's template refuses a
// system message; this one folds it into the first user turn as "{system}\n\n", as
// LLaMA-Factory's gemma does. Tool results are "tool" turns.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `gemma` chat template.
final class GemmaTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.gemma", name: "gemma", version: "1.0.0", vendor: "Factory",
        summary: "Gemma / Gemma 2 (<start_of_turn>user|model ... <end_of_turn>)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "gemma")
        t.bos = "<bos>"
        t.eos = "<eos>"
        t.prefix = "{bos}"
        t.system = .intoFirstUser("{content}\n\n")
        t.user = "<start_of_turn>user\n{content}<end_of_turn>\n"
        t.observation = "<start_of_turn>tool\n{content}<end_of_turn>\n"
        t.assistantHeader = "<start_of_turn>model\n"
        t.assistantBody = "{content}<end_of_turn>\n"
        t.generationPrompt = t.assistantHeader
        t.trimContent = true
        t.stopWords = ["<end_of_turn>"]
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [GemmaTemplate.self]) }
}
