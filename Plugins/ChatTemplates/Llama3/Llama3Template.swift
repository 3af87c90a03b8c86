// The Llama 3 Instruct template. Matches Meta-Llama-3-8B-Instruct's published chat
// template: BOS, then per message "<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>";
// tool results are "ipython" turns. No default system prompt.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `llama3` chat template.
final class Llama3Template: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.llama3", name: "llama3", version: "1.0.0", vendor: "Factory",
        summary: "Llama 3 Instruct (<|start_header_id|>role<|end_header_id|>, <|eot_id|>)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "llama3")
        t.bos = "<|begin_of_text|>"
        t.eos = "<|eot_id|>"
        t.prefix = "{bos}"
        t.system = .turn("<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>")
        t.user = "<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>"
        t.observation = "<|start_header_id|>ipython<|end_header_id|>\n\n{content}<|eot_id|>"
        t.toolFormat = .llama3()  // LLaMA-Factory's: Llama 3.1's JSON tool calling, tools in the system turn
        t.assistantHeader = "<|start_header_id|>assistant<|end_header_id|>\n\n"
        t.assistantBody = "{content}<|eot_id|>"
        t.generationPrompt = t.assistantHeader
        t.trimContent = true
        t.stopWords = ["<|eot_id|>", "<|eom_id|>"]
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [Llama3Template.self]) }
}
