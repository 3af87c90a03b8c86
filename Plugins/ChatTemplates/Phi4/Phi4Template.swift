// The Phi-4 template. Matches microsoft/phi-4's published chat template: system and user
// turns "<|im_start|>{role}<|im_sep|>{content}<|im_end|>", every user turn followed by the
// assistant header "<|im_start|>assistant<|im_sep|>" (the template has no separate generation
// prompt), answers "{content}<|im_end|>".
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `phi4` chat template.
final class Phi4Template: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.phi4", name: "phi4", version: "1.0.0", vendor: "Factory",
        summary: "Phi-4 (<|im_start|>role<|im_sep|> ... <|im_end|>)")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "phi4")
        t.eos = "<|im_end|>"
        t.system = .turn("<|im_start|>system<|im_sep|>{content}<|im_end|>")
        t.user = "<|im_start|>user<|im_sep|>{content}<|im_end|><|im_start|>assistant<|im_sep|>"
        t.assistantBody = "{content}<|im_end|>"
        t.stopWords = ["<|im_end|>"]
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [Phi4Template.self]) }
}
