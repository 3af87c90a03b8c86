import FactoryJSON
import FactoryPluginKit

/// A chat-template plugin whose rendering is a `TurnTemplate`: the class supplies its
/// descriptor, its format and `init(config:)`; defaults, stop words and rendering come from here.
public protocol TurnTemplatePlugin: ChatTemplatePlugin {
    static var format: TurnTemplate { get }
}

extension TurnTemplatePlugin {
    public var defaultSystem: String { Self.format.defaultSystem }
    public var stopWords: [String] { Self.format.stopWords }
    public var jinjaTemplate: String? { Self.format.jinja() }
    public var ollamaTemplate: String? { Self.format.ollama() }
    public var outputFormat: JSON? { Self.format.outputFormat }
    public func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        try Self.format.render(messages, options: options)
    }
}

extension TurnTemplate {
    /// ChatML turns ("<|im_start|>{role}\n{content}<|im_end|>\n"), the base of several families.
    public static func chatML(name: String) -> TurnTemplate {
        var t = TurnTemplate(name: name)
        t.eos = "<|im_end|>"
        t.system = .turn("<|im_start|>system\n{content}<|im_end|>\n")
        t.user = "<|im_start|>user\n{content}<|im_end|>\n"
        t.assistantHeader = "<|im_start|>assistant\n"
        t.assistantBody = "{content}<|im_end|>\n"
        t.generationPrompt = "<|im_start|>assistant\n"
        t.stopWords = ["<|im_end|>"]
        return t
    }
}
