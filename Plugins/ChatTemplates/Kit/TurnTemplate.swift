// A chat template described by its turn formats, LLaMA-Factory's way
// (format_system / format_user / format_assistant / format_observation / prefix):
// most published chat templates are a fixed pattern per role, and the few rules
// beyond that (the system prompt folded into the first user turn, trimming, the
// default system prompt) are switches here. Templates with a rule no switch covers
// (Qwen3's think block) add it through `assistantContent`.
//
// Patterns use three placeholders: {content}, {bos} and {eos}. {bos}/{eos} are the
// tokenizer's strings when the host passes them, else the family's defaults.
import FactoryJSON
import FactoryPluginKit

/// How a template places the system prompt.
public enum SystemPlacement: Sendable {
    /// Its own turn, rendered with this pattern before the first message.
    case turn(String)
    /// Prepended (rendered with this pattern) to the content of the first user message.
    case intoFirstUser(String)
}

/// When a template writes its default system prompt.
public enum DefaultSystemRule: Sendable {
    /// Never: only an explicit system message is rendered (even an empty one).
    case never
    /// When the conversation has no system message (Qwen2.5, SmolLM2).
    case whenAbsent
    /// LLaMA-Factory's rule `system or default_system`: also when the system message is
    /// empty; an empty result is not rendered at all.
    case whenAbsentOrEmpty
}

/// A template's formats. `assistantHeader` is masked in training; `assistantBody` is learned.
public struct TurnTemplate: Sendable {
    public var name: String
    public var bos: String = ""
    public var eos: String = ""
    /// Written once, before the first message (usually "{bos}").
    public var prefix: String = ""
    public var system: SystemPlacement = .turn("{content}")
    public var defaultSystem: String = ""
    public var defaultSystemRule: DefaultSystemRule = .never
    public var user: String = "{content}"
    public var assistantHeader: String = ""
    public var assistantBody: String = "{content}"
    /// nil = rendered like a user turn.
    public var observation: String? = nil
    /// Consecutive observations share one opening and one closing (Qwen's tool responses).
    public var observationGroup: (open: String, close: String)? = nil
    /// nil = rendered like an assistant turn.
    public var functionCallBody: String? = nil
    /// How the family writes tools and calls (the calls' text fills functionCallBody's {content}); nil: tools
    /// and function_call messages are refused, never rendered in a format the model was not trained on.
    public var toolFormat: ToolFormat? = nil
    /// The markers of a reasoning block that opens an answer (Qwen3's "<think>", "</think>"); nil: none.
    public var reasoning: (open: String, close: String)? = nil
    public var generationPrompt: String = ""
    /// Whitespace trimmed from every message's content (Llama 3, Gemma: Jinja's `| trim`).
    public var trimContent: Bool = false
    /// Trim the user content after the system prompt was folded in (Llama 2's `content.strip()`).
    public var trimMergedUser: Bool = false
    public var stopWords: [String] = []
    /// Rewrites an assistant message's content (index in the conversation, the conversation, options).
    public var assistantContent: (@Sendable (Int, [ChatMessage], RenderOptions) -> String)? = nil
    /// Text added after the generation prompt (Qwen3 with thinking off).
    public var generationSuffix: (@Sendable (RenderOptions) -> String)? = nil

    public init(name: String) { self.name = name }
}

extension TurnTemplate {
    /// Renders a conversation into masked and learned segments.
    public func render(_ messages: [ChatMessage], options: RenderOptions) throws -> [Segment] {
        let bosText = options.bosToken.isEmpty ? bos : options.bosToken
        let eosText = options.eosToken.isEmpty ? eos : options.eosToken
        func fill(_ pattern: String, _ content: String = "") -> String {
            let pieces = pattern.replacingAll("{bos}", with: bosText).replacingAll("{eos}", with: eosText).splitting(on: "{content}")
            return pieces.joined(separator: content)
        }
        func trimmed(_ text: String) -> String { trimContent ? text.trimmingWhitespace() : text }

        var turns = messages
        var systemText: String? = nil
        if let first = turns.first, first.role == .system {
            systemText = first.content
            turns.removeFirst()
        }
        for (index, message) in turns.enumerated() where message.role == .system {
            throw PluginError.invalidArgument("\(name): message \(index + (systemText == nil ? 0 : 1)) is a system message; only the first may be")
        }
        switch defaultSystemRule {
        case .never: break
        case .whenAbsent: if systemText == nil { systemText = defaultSystem }
        case .whenAbsentOrEmpty:
            if systemText?.isEmpty ?? true { systemText = defaultSystem }
            if systemText?.isEmpty ?? true { systemText = nil }
        }

        // the tools join the system prompt after it is trimmed: the format's text is kept as it writes it
        var systemTrimmed = false
        let tools = try ToolFormat.tools(options.tools)
        if !tools.isEmpty {
            guard let toolFormat else { throw PluginError.unsupported("\(name): this template has no tool format yet; tools are refused rather than left out") }
            systemText = toolFormat.system(systemText.map(trimmed), tools)
            systemTrimmed = true
        }
        var segments: [Segment] = []
        if !prefix.isEmpty && !(turns.isEmpty && systemText == nil) { segments.append(Segment(nil, fill(prefix))) }
        var pendingSystem: String? = nil
        if let systemText {
            switch system {
            case .turn(let pattern): segments.append(Segment(.system, fill(pattern, systemTrimmed ? systemText : trimmed(systemText))))
            case .intoFirstUser(let pattern): pendingSystem = fill(pattern, systemText)
            }
        }
        let offset = messages.count - turns.count
        for (index, message) in turns.enumerated() {
            switch message.role {
            case .system: break
            case .user:
                var content = trimmed(message.content)
                if let merged = pendingSystem {
                    content = merged + content
                    pendingSystem = nil
                }
                if trimMergedUser { content = content.trimmingWhitespace() }
                segments.append(Segment(.user, fill(user, content)))
            case .observation:
                if let group = observationGroup {
                    let previous = index > 0 ? turns[index - 1].role : nil, next = index + 1 < turns.count ? turns[index + 1].role : nil
                    var text = previous == .observation ? "" : fill(group.open)
                    text += fill(observation ?? user, trimmed(message.content))
                    if next != .observation { text += fill(group.close) }
                    segments.append(Segment(.observation, text))
                } else {
                    segments.append(Segment(.observation, fill(observation ?? user, trimmed(message.content))))
                }
            case .assistant, .functionCall:
                var content = trimmed(message.content)
                if message.role == .functionCall {
                    guard let toolFormat else {
                        throw PluginError.unsupported("\(name): message \(index + offset) is a function_call and this template has no tool format yet")
                    }
                    content = toolFormat.calls(try ToolFormat.calls(message.content, message: index + offset))
                }
                if message.role == .assistant, let rewrite = assistantContent { content = rewrite(index + offset, messages, options) }
                let body = message.role == .functionCall ? (functionCallBody ?? assistantBody) : assistantBody
                if !assistantHeader.isEmpty { segments.append(Segment(message.role, fill(assistantHeader))) }
                segments.append(Segment(message.role, fill(body, content), trainable: true))
            }
        }
        if options.addGenerationPrompt {
            let text = fill(generationPrompt) + (generationSuffix?(options) ?? "")
            if !text.isEmpty { segments.append(Segment(.assistant, text)) }
        }
        return segments
    }
}

extension String {
    /// Python's `str.strip()` / Jinja's `trim`: leading and trailing whitespace removed.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }

    /// Python's `str.strip(chars)` family on a set of characters.
    public func stripping(_ characters: Set<Character>, leading: Bool = true, trailing: Bool = true) -> String {
        var slice = Substring(self)
        while leading, let c = slice.first, characters.contains(c) { slice.removeFirst() }
        while trailing, let c = slice.last, characters.contains(c) { slice.removeLast() }
        return String(slice)
    }
}

extension TurnTemplate {
    /// How an answer reads back (ABI 1.8 output_format): the tool format's calls and the reasoning block.
    public var outputFormat: JSON? {
        var o = JSONObject()
        if let parsing = toolFormat?.parsing { o["tool_calls"] = .object(parsing) }
        if let r = reasoning { o["reasoning"] = .object(JSONObject([("open", .string(r.open)), ("close", .string(r.close))])) }
        return o.count == 0 ? nil : .object(o)
    }
}
