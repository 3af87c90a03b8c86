// An out-of-tree chat template plugin in Swift: one type conforming to
// ChatTemplatePlugin, plus the exported entry function. Build with
// `swift build`, then: factory plugins check .build/debug/libExamplePlugin.so
import CFactoryABI
import FactoryPluginKit

/// "User: ...\nAssistant: ...\n", with a configurable speaker name for the assistant.
final class ExamplePlainTemplate: ChatTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.example.template.plain", name: "example_plain", version: "1.0.0", vendor: "Example Inc.",
        summary: "User:/Assistant: plain-text turns (SDK template)")

    let defaultSystem = ""
    let stopWords = ["\nUser:"]
    let assistantName: String

    /// Config keys: "assistant_name" (string, default "Assistant"). Unknown keys are refused by the kit.
    init(config: ConfigReader) throws {
        assistantName = try config.string("assistant_name", default: "Assistant")
    }

    func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        var segments: [Segment] = []
        for message in messages {
            switch message.role {
            case .system: segments.append(Segment(.system, message.content + "\n\n"))
            case .user, .observation: segments.append(Segment(message.role, "User: \(message.content)\n"))
            case .assistant, .functionCall:
                segments.append(Segment(message.role, "\(assistantName): "))
                segments.append(Segment(message.role, message.content + "\n", trainable: true))
            }
        }
        if options.addGenerationPrompt { segments.append(Segment(.assistant, "\(assistantName): ")) }
        return segments
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [ExamplePlainTemplate.self]) }
}
