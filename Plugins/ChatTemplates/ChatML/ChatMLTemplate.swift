// The ChatML template (LLaMA-Factory's `chatml`): every message is
// "<|im_start|>{role}\n{content}<|im_end|>\n", with no default system prompt;
// tool results use the "tool" role, tool calls the assistant's. The generation
// prompt is "<|im_start|>assistant\n". The assistant header is masked in training;
// "{content}<|im_end|>\n" of every assistant turn is learned.
import CFactoryABI
import FactoryPluginKit

final class ChatMLTemplate: ChatTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.chatml", name: "chatml", version: "1.0.0", vendor: "Factory",
        summary: "ChatML (<|im_start|>role ... <|im_end|>), no default system prompt")

    let defaultSystem = ""
    let stopWords = ["<|im_end|>"]

    init(config: ConfigReader) throws {}

    func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        var segments: [Segment] = []
        for (index, message) in messages.enumerated() {
            switch message.role {
            case .system:
                guard index == 0 else { throw PluginError.invalidArgument("chatml: message \(index) is a system message; only the first may be") }
                segments.append(Segment(.system, "<|im_start|>system\n\(message.content)<|im_end|>\n"))
            case .user:
                segments.append(Segment(.user, "<|im_start|>user\n\(message.content)<|im_end|>\n"))
            case .observation:
                segments.append(Segment(.observation, "<|im_start|>tool\n\(message.content)<|im_end|>\n"))
            case .assistant, .functionCall:
                segments.append(Segment(message.role, "<|im_start|>assistant\n"))
                segments.append(Segment(message.role, "\(message.content)<|im_end|>\n", trainable: true))
            }
        }
        if options.addGenerationPrompt { segments.append(Segment(.assistant, "<|im_start|>assistant\n")) }
        return segments
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [ChatMLTemplate.self]) }
}
