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

    /// Optional (ABI 1.6): the template as a Hugging Face chat template, which `factory export` writes into an
    /// exported tokenizer so that transformers renders conversations as this template does. `factory plugins
    /// check` renders both and compares them; leave it out (nil) if the template has no Jinja form.
    var jinjaTemplate: String? {
        var name = ""  // the name inside a quoted Jinja string: backslashes and quotes escaped
        for c in assistantName { name += c == "\\" ? "\\\\" : c == "'" ? "\\'" : String(c) }
        return "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] ~ '\\n\\n' }}"
            + "{% elif message['role'] == 'assistant' %}{{ '\(name): ' ~ message['content'] ~ '\\n' }}"
            + "{% else %}{{ 'User: ' ~ message['content'] ~ '\\n' }}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '\(name): ' }}{% endif %}"
    }

    /// Optional (ABI 1.7): the template as an Ollama template (Go's text/template over .Messages), the
    /// TEMPLATE of the Modelfile `factory export` writes; the generation prompt follows a last message
    /// that is not the assistant's. Leave it out (nil) if the template has no such form.
    var ollamaTemplate: String? {
        let name = assistantName.replacing("{{", with: "{{ \"{{\" }}")  // literal text: only "{{" opens an action
        return "{{ range $i, $m := .Messages }}{{ if eq .Role \"system\" }}{{ .Content }}\n\n"
            + "{{ else if eq .Role \"assistant\" }}\(name): {{ .Content }}\n{{ else }}User: {{ .Content }}\n{{ end }}"
            + "{{ if and (eq (len (slice $.Messages $i)) 1) (ne .Role \"assistant\") }}\(name): {{ end }}{{ end }}"
    }

    // Optional (ABI 1.8): `var outputFormat: JSON?`, how `factory api` reads an answer back — tool calls
    // ({"style": "tagged", "open": "<tool_call>", "close": "</tool_call>", "name": "name", "arguments": "arguments"})
    // and a reasoning block ({"open": "<think>", "close": "</think>"}). Without tools, this one declares none.

    /// This template has no tool format, so it refuses tools and calls (the ABI's rule: a template writes
    /// them in its family's format or refuses them, never drops them).
    func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        if !options.tools.filter({ !$0.isWhitespace }).isEmpty && options.tools.filter({ !$0.isWhitespace }) != "[]" {
            throw PluginError.unsupported("example_plain: this template has no tool format; tools are refused rather than left out")
        }
        var segments: [Segment] = []
        for (index, message) in messages.enumerated() {
            switch message.role {
            case .system: segments.append(Segment(.system, message.content + "\n\n"))
            case .user, .observation: segments.append(Segment(message.role, "User: \(message.content)\n"))
            case .functionCall:
                throw PluginError.unsupported("example_plain: message \(index) is a function_call and this template has no tool format")
            case .assistant:
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
