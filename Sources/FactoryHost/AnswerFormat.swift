import FactoryJSON

/// How a chat template's answers read back (its ABI 1.8 output_format, chat_template.h): where tool calls
/// are and how they are written, and the markers of a reasoning block. Checked when it is read: a key it
/// does not know, or a style without what it needs, is an error naming it.
public struct AnswerFormat: Sendable, Equatable {
    /// How tool calls are written in an answer.
    public struct ToolCalls: Sendable, Equatable {
        public enum Style: String, Sendable { case tagged, json, action }
        public let style: Style
        /// "tagged": the markers around each call object.
        public let open: String, close: String
        /// "json": text before the calls (Mistral's "[TOOL_CALLS]"); "" for none.
        public let prefix: String
        /// The keys of a call object.
        public let nameKey: String, argumentsKey: String

        public init(style: Style, open: String, close: String, prefix: String, nameKey: String, argumentsKey: String) {
            (self.style, self.open, self.close, self.prefix, self.nameKey, self.argumentsKey) = (style, open, close, prefix, nameKey, argumentsKey)
        }
    }

    public let toolCalls: ToolCalls?
    public let reasoning: (open: String, close: String)?

    public static func == (a: AnswerFormat, b: AnswerFormat) -> Bool {
        a.toolCalls == b.toolCalls && a.reasoning?.open == b.reasoning?.open && a.reasoning?.close == b.reasoning?.close
    }

    public init(toolCalls: ToolCalls?, reasoning: (open: String, close: String)?) { (self.toolCalls, self.reasoning) = (toolCalls, reasoning) }

    /// Parses the declaration of template `template`.
    public init(json text: String, template: String) throws {
        func fail(_ what: String) -> DescriptionError { DescriptionError(message: "chat template '\(template)': output_format: \(what)") }
        let json: JSON
        do { json = try JSON.parse(text) } catch { throw fail("not JSON (\(error))") }
        guard let o = json.objectValue else { throw fail("must be a JSON object") }
        if let unknown = o.pairs.map(\.0).first(where: { !["tool_calls", "reasoning"].contains($0) }) { throw fail("unknown key '\(unknown)' (tool_calls, reasoning)") }
        if let r = o["reasoning"] {
            guard let open = r["open"]?.stringValue, !open.isEmpty, let close = r["close"]?.stringValue, !close.isEmpty else {
                throw fail("'reasoning' needs non-empty 'open' and 'close'")
            }
            reasoning = (open, close)
        } else {
            reasoning = nil
        }
        guard let t = o["tool_calls"] else { toolCalls = nil; return }
        guard let keys = t.objectValue?.pairs.map(\.0) else { throw fail("'tool_calls' must be an object") }
        if let unknown = keys.first(where: { !["style", "open", "close", "prefix", "name", "arguments"].contains($0) }) {
            throw fail("tool_calls: unknown key '\(unknown)' (style, open, close, prefix, name, arguments)")
        }
        guard let styleName = t["style"]?.stringValue, let style = ToolCalls.Style(rawValue: styleName) else {
            throw fail("tool_calls.style must be tagged, json or action")
        }
        let open = t["open"]?.stringValue ?? "", close = t["close"]?.stringValue ?? ""
        if style == .tagged && (open.isEmpty || close.isEmpty) { throw fail("tool_calls: style tagged needs non-empty 'open' and 'close'") }
        guard let name = t["name"]?.stringValue, !name.isEmpty, let arguments = t["arguments"]?.stringValue, !arguments.isEmpty else {
            throw fail("tool_calls needs the call object's keys 'name' and 'arguments'")
        }
        toolCalls = ToolCalls(style: style, open: open, close: close, prefix: t["prefix"]?.stringValue ?? "", nameKey: name, argumentsKey: arguments)
    }
}
