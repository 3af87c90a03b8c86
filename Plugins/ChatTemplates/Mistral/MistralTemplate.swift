// The Mistral Instruct template. Matches Mistral-7B-Instruct-v0.2's published chat template
// (Mistral's "v1" format with a system prompt): BOS, user turns " [INST] {content} [/INST]",
// the system prompt folded into the first one as "{system}\n\n", answers " {content}{eos}".
// (LLaMA-Factory's mistral is the v3 layout without the spaces; the model's own template wins.)
// Tools and calls: LLaMA-Factory's mistral tool format on this layout (Fixtures/templates/tool_cases.json).
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `mistral` chat template.
final class MistralTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.mistral", name: "mistral", version: "1.0.0", vendor: "Factory",
        summary: "Mistral Instruct v0.1/v0.2 ([INST] ... [/INST], system in the first turn)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "mistral")
        t.bos = "<s>"
        t.eos = "</s>"
        t.prefix = "{bos}"
        t.system = .intoFirstUser("{content}\n\n")
        t.user = " [INST] {content} [/INST]"
        t.assistantBody = " {content}{eos}"
        // tools as LLaMA-Factory writes them for Mistral (v0.3's tool tokens; v0.2 itself publishes no tool format)
        t.toolFormat = .mistral
        t.functionCallBody = "[TOOL_CALLS] {content}{eos}"
        t.observation = "[TOOL_RESULTS] {\"content\": {content}}[/TOOL_RESULTS]"
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [MistralTemplate.self]) }
}
