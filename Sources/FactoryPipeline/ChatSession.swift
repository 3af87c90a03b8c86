import FactoryConfig
import FactoryHost
import FactoryJSON
import FactoryJinja

/// Turns a conversation into the prompt text the model expects.
public protocol ChatRenderer {
    /// The prompt for `messages` (role, content) followed by the assistant's generation prompt.
    func prompt(_ messages: [(role: String, content: String)]) throws -> String
    /// Strings that end a reply besides the EOS token.
    var stopWords: [String] { get }
    /// Where the template comes from, for messages.
    var origin: String { get }
    /// The prompt with `tools` (OpenAI function tools) offered to the model; messages may then include
    /// "function_call" (content: the calls as JSON) and "tool" (a result) turns.
    func prompt(_ messages: [(role: String, content: String)], tools: [JSON]) throws -> String
    /// How the template's answers read back (tool calls, reasoning); nil when it declares nothing.
    func answerFormat() throws -> AnswerFormat?
}

extension ChatRenderer {
    public func prompt(_ messages: [(role: String, content: String)], tools: [JSON]) throws -> String {
        guard tools.isEmpty, !messages.contains(where: { ["function_call", "tool"].contains($0.role) }) else {
            throw ConfigProblem("tools: \(origin) has no declared tool-call format; choose a template plugin that has one (template: qwen, qwen3, llama3, mistral, chatml, …)")
        }
        return try prompt(messages)
    }
    public func answerFormat() throws -> AnswerFormat? { nil }
}

/// The model's own Jinja chat template (GGUF tokenizer.chat_template / tokenizer_config.json).
public final class JinjaChatRenderer: ChatRenderer {
    let template: JinjaTemplate
    let bos: String, eos: String
    public let stopWords: [String]
    public let origin = "the model's own chat template"

    public init(source: String, bos: String, eos: String) throws {
        template = try JinjaTemplate(source)
        self.bos = bos
        self.eos = eos
        stopWords = eos.isEmpty ? [] : [eos]
    }

    public func prompt(_ messages: [(role: String, content: String)]) throws -> String {
        try template.render([
            "messages": .list(messages.map { .dict([("role", .string($0.role)), ("content", .string($0.content))]) }),
            "add_generation_prompt": .bool(true),
            "bos_token": .string(bos), "eos_token": .string(eos),
        ])
    }
}

/// A chat-template plugin (`template:` in the config).
public final class PluginChatRenderer: ChatRenderer {
    let instance: ChatTemplateInstance
    let bos: String, eos: String
    public let stopWords: [String]
    public var origin: String { "the \(instance.component.name) template plugin" }

    public init(_ instance: ChatTemplateInstance, bos: String, eos: String) throws {
        self.instance = instance
        self.bos = bos
        self.eos = eos
        stopWords = try instance.declaration().stopWords
    }

    public func prompt(_ messages: [(role: String, content: String)]) throws -> String {
        try prompt(messages, tools: [])
    }

    public func prompt(_ messages: [(role: String, content: String)], tools: [JSON]) throws -> String {
        let json = JSON.array(messages.map { .object(JSONObject([("role", .string($0.role)), ("content", .string($0.content))])) })
        var options = JSONObject([("add_generation_prompt", true), ("bos_token", .string(bos)), ("eos_token", .string(eos))])
        if !tools.isEmpty { options["tools"] = .string(JSON.array(tools).serialized()) }
        return try instance.render(messagesJSON: json.serialized(), optionsJSON: JSON.object(options).serialized()).map(\.text).joined()
    }

    public func answerFormat() throws -> AnswerFormat? {
        try instance.outputFormat().map { try AnswerFormat(json: $0, template: instance.component.name) }
    }
}

/// A conversation with a loaded model: history, rendering, streaming replies.
public final class ChatSession {
    public let model: LoadedModel
    public let renderer: ChatRenderer
    public private(set) var history: [(role: String, content: String)] = []
    /// Set when `template:` names a plugin that renders differently from the model's own chat template
    /// (what stops `factory run`), unless allow_template_mismatch is true: the command prints it.
    public private(set) var templateWarning: String?
    let system: String?
    public var options: SamplingOptions

    /// `template:` picks a plugin; unset, the model's own template is used.
    public init(model: LoadedModel, config: RunConfig, plugins: PluginSet) throws {
        self.model = model
        let bos = model.tokenizer.bosID.map { model.tokenizer.decode([$0]) } ?? ""
        let eos = (model.tokenizer.eosID ?? model.stopIDs.min()).map { model.tokenizer.decode([$0]) } ?? ""
        if let name = config.string("template") {
            let instance = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(name))
            renderer = try PluginChatRenderer(instance, bos: bos, eos: eos)
            if let source = model.chatTemplate, config.bool("allow_template_mismatch") != true,
               let results = try? TemplateCheck.run(plugin: instance, modelTemplate: source, tokenizer: model.tokenizer) {
                let different = results.filter { !$0.matches }
                if let first = different.first {
                    templateWarning = "the \(name) template differs from the model's own chat template in \(different.count) of \(results.count) conversations "
                        + "(first: \(first.name), token \(first.firstDifference ?? 0)); replies may suffer — `factory template check --template \(name)` shows where, "
                        + "allow_template_mismatch: true silences this"
                }
            }
        } else if let source = model.chatTemplate {
            do { renderer = try JinjaChatRenderer(source: source, bos: bos, eos: eos) } catch {
                throw ConfigProblem("the model's chat template cannot be read (\(error)); choose a template plugin with template=NAME")
            }
        } else {
            throw ConfigProblem("the model carries no chat template; choose one with template=NAME (registered: \(plugins.registry(.chatTemplate).names.joined(separator: ", ")))")
        }
        system = config.string("default_system")
        options = SamplingOptions(config)
    }

    /// Forgets the conversation.
    public func clear() { history.removeAll() }

    /// Sends a user message; streams the reply through `onText` and returns it.
    @discardableResult
    public func send(_ text: String, onText: (String) -> Void) throws -> String {
        history.append((role: "user", content: text))
        let messages = (system.map { [(role: "system", content: $0)] } ?? []) + history
        let prompt = try model.tokenizer.encode(try renderer.prompt(messages))
        var stops = model.stopIDs
        for word in renderer.stopWords { if let id = model.tokenizer.id(of: word) { stops.insert(id) } }
        let ids = try Generator(model: model).generate(prompt: prompt, options: options, stopIDs: stops, stopStrings: renderer.stopWords) { _, piece in
            onText(piece)
            return true
        }
        var reply = model.tokenizer.decode(ids, skipSpecial: true)
        for word in renderer.stopWords where reply.hasSuffix(word) { reply.removeLast(word.count) }
        history.append((role: "assistant", content: reply))
        return reply
    }
}
