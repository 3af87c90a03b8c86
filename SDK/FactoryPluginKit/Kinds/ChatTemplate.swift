import CFactoryABI
import FactoryJSON

/// The role of a chat message, with the names LLaMA-Factory's datasets use.
public enum ChatRole: String, Sendable {
    case system, user, assistant
    case functionCall = "function_call"
    case observation

    /// The ABI role code.
    var code: factory_role_t {
        switch self {
        case .system: return factory_role_t(FACTORY_ROLE_SYSTEM.rawValue)
        case .user: return factory_role_t(FACTORY_ROLE_USER.rawValue)
        case .assistant: return factory_role_t(FACTORY_ROLE_ASSISTANT.rawValue)
        case .functionCall: return factory_role_t(FACTORY_ROLE_FUNCTION_CALL.rawValue)
        case .observation: return factory_role_t(FACTORY_ROLE_OBSERVATION.rawValue)
        }
    }

    /// Accepts the dataset names and the OpenAI ones ("tool" = observation, "tool_calls" = function_call).
    init?(name: String) {
        switch name {
        case "tool": self = .observation
        case "tool_calls": self = .functionCall
        default: self.init(rawValue: name)
        }
    }
}

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: ChatRole
    public var content: String
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }
}

/// Options of one rendering.
public struct RenderOptions: Sendable {
    public var addGenerationPrompt: Bool = false
    public var tools: String = ""
    public var enableThinking: Bool? = nil
    /// The tokenizer's BOS and EOS strings ("" when the host has no tokenizer).
    public var bosToken: String = ""
    public var eosToken: String = ""
    public init() {}
}

/// A piece of rendered text: which message it belongs to (nil = none) and whether it is learned.
public struct Segment: Sendable, Equatable {
    public var role: ChatRole?
    public var trainable: Bool
    public var text: String
    public init(_ role: ChatRole?, _ text: String, trainable: Bool = false) {
        self.role = role
        self.text = text
        self.trainable = trainable
    }
}

/// A chat template component.
public protocol ChatTemplatePlugin: PluginComponent {
    /// Inserted when a conversation has no system message; "" for none.
    var defaultSystem: String { get }
    /// Strings that end a generated reply.
    var stopWords: [String] { get }
    /// Renders a conversation into segments, in order.
    func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment]
    /// The template as a Hugging Face chat template (Jinja) rendering what `render` renders for
    /// conversations without tools (the variables messages, add_generation_prompt, bos_token,
    /// eos_token); nil when it has none. The default is nil.
    var jinjaTemplate: String? { get }
    /// The template as an Ollama template (Go's text/template over .Messages), rendering what `render`
    /// renders followed by the generation prompt, without the opening BOS; "{bos}" and "{eos}" in it stand
    /// for the tokenizer's texts. nil when it has none. The default is nil.
    var ollamaTemplate: String? { get }
    /// How the model's answer reads back (ABI 1.8, chat_template.h's output_format): its tool calls and
    /// reasoning, as that JSON object; nil when the template declares none. The default is nil.
    var outputFormat: JSON? { get }
}

extension ChatTemplatePlugin {
    public var jinjaTemplate: String? { nil }
    public var ollamaTemplate: String? { nil }
    public var outputFormat: JSON? { nil }
}

enum ChatTemplateBinding {
    static func table(_ box: InstanceBox) throws -> UnsafePointer<factory_instance_t> {
        let template = try component(of: box, as: (any ChatTemplatePlugin).self)
        let info = box.memory.block(factory_chat_template_info_t.self)
        info.pointee = factory_chat_template_info_t(
            struct_size: UInt32(MemoryLayout<factory_chat_template_info_t>.size),
            default_system: box.memory.string(template.defaultSystem),
            stop_words: box.memory.stringList(template.stopWords),
            jinja_template: template.jinjaTemplate.map { box.memory.string($0) },
            ollama_template: template.ollamaTemplate.map { box.memory.string($0) },
            output_format: template.outputFormat.map { box.memory.string($0.serialized()) })
        box.info = UnsafeRawPointer(info)
        return box.makeTable(factory_chat_template_t.self) { t in
            t.pointee.info = { selfPtr in declaredInfo(selfPtr, as: factory_chat_template_info_t.self) }
            t.pointee.render = { selfPtr, messages, messagesLen, options, optionsLen, sink, err in
                reportingErrors(err) {
                    let template = try component(selfPtr, as: (any ChatTemplatePlugin).self)
                    guard let sink, let emit = sink.pointee.emit else { throw PluginError.invalidArgument("segment sink is NULL") }
                    let parsedMessages = try ChatTemplateBinding.parseMessages(try parseJSON(messages, messagesLen, "messages"))
                    let parsedOptions = try ChatTemplateBinding.parseOptions(try parseJSON(options, optionsLen, "options"))
                    for segment in try template.render(parsedMessages, options: parsedOptions) {
                        let role = segment.role?.code ?? factory_role_t(FACTORY_ROLE_NONE.rawValue)
                        let status = segment.text.withCString { emit(sink, role, segment.trainable, $0, UInt64(segment.text.utf8.count)) }
                        if status != FACTORY_OK.rawValue { throw PluginError(FACTORY_ERR_IO, "the host's segment sink failed with status \(status)") }
                    }
                }
            }
        }
    }

    static func parseMessages(_ json: JSON) throws -> [ChatMessage] {
        guard let items = json.arrayValue else { throw PluginError.invalidArgument("messages must be a JSON list, got \(json.kindDescription)") }
        return try items.enumerated().map { index, item in
            guard let object = item.objectValue else { throw PluginError.invalidArgument("message \(index) must be an object") }
            for key in object.keys where !["role", "content", "name", "tool_calls", "tool_call_id"].contains(key) {
                throw PluginError.invalidArgument("message \(index): unknown key '\(key)'")
            }
            guard let roleName = object["role"]?.stringValue else { throw PluginError.invalidArgument("message \(index): missing \"role\"") }
            guard let role = ChatRole(name: roleName) else {
                throw PluginError.invalidArgument("message \(index): unknown role '\(roleName)' (system, user, assistant, function_call, observation, tool)")
            }
            let content: String
            switch object["content"] {
            case .string(let s)?: content = s
            case .null?, nil: content = ""
            case let other?: throw PluginError.invalidArgument("message \(index): \"content\" must be a string, got \(other.kindDescription)")
            }
            return ChatMessage(role: role, content: content)
        }
    }

    static func parseOptions(_ json: JSON) throws -> RenderOptions {
        guard let object = json.objectValue else { throw PluginError.invalidArgument("options must be a JSON object") }
        let reader = ConfigReader(object, component: "render options")
        var options = RenderOptions()
        options.addGenerationPrompt = try reader.bool("add_generation_prompt", default: false)
        options.tools = try reader.string("tools", default: "")
        options.bosToken = try reader.string("bos_token", default: "")
        options.eosToken = try reader.string("eos_token", default: "")
        if let v = reader.value("enable_thinking"), v != .null {
            guard let b = v.boolValue else { throw PluginError.invalidArgument("render options: enable_thinking must be a boolean") }
            options.enableThinking = b
        }
        try reader.finish()
        return options
    }
}

/// Parses a (pointer, length) JSON argument; NULL or empty means `{}`.
func parseJSON(_ text: UnsafePointer<CChar>?, _ length: UInt64, _ what: String) throws -> JSON {
    guard let text, length > 0 else { return .object(JSONObject()) }
    do {
        return try JSON.parse(bytes: UnsafeRawBufferPointer(start: text, count: try checkedInt(length, "\(what) length")))
    } catch let error as JSONParseError {
        throw PluginError.invalidArgument("\(what) is not valid JSON: \(error)")
    }
}
