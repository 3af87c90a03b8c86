// The SmolLM2 chat template: ChatML with SmolLM2's default system prompt.
// Port of the chat_template in HuggingFaceTB/SmolLM2-135M-Instruct's tokenizer_config.json
// (also in the GGUF's tokenizer.chat_template):
//   a conversation whose first message is not a system message starts with
//   "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
//   every message is "<|im_start|>{role}\n{content}<|im_end|>\n";
//   the generation prompt is "<|im_start|>assistant\n".
// Training segments follow LLaMA-Factory's smollm2 template: the assistant header is
// masked, "{content}<|im_end|>\n" of every assistant turn is learned.
import CFactoryABI
import FactoryPluginKit

/// SmolLM2's ChatML template.
final class SmolLM2Template: ChatTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.smollm2", name: "smollm2", version: "1.0.0", vendor: "Factory",
        summary: "ChatML with SmolLM2's default system prompt (matches the model's own chat template)")

    let defaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    let stopWords = ["<|im_end|>"]

    init(config: ConfigReader) throws {}

    func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        var segments: [Segment] = []
        if messages.first?.role != .system {
            segments.append(Segment(.system, "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"))
        }
        for (index, message) in messages.enumerated() {
            switch message.role {
            case .system:
                guard index == 0 else { throw PluginError.invalidArgument("smollm2: message \(index) is a system message; only the first may be") }
                segments.append(Segment(.system, "<|im_start|>system\n\(message.content)<|im_end|>\n"))
            case .user, .observation:
                segments.append(Segment(message.role, "<|im_start|>user\n\(message.content)<|im_end|>\n"))
            case .assistant, .functionCall:
                segments.append(Segment(message.role, "<|im_start|>assistant\n"))
                segments.append(Segment(message.role, "\(message.content)<|im_end|>\n", trainable: true))
            }
        }
        if options.addGenerationPrompt {
            segments.append(Segment(.assistant, "<|im_start|>assistant\n"))
        }
        return segments
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [SmolLM2Template.self]) }
}
