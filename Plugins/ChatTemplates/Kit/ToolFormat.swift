// How a model family writes tools and tool calls: the tools into the system turn, a function_call
// message (LLaMA-Factory's dataset form: {"name", "arguments"} or a list of them) into the text the
// model produces. JSON is written as the chat templates' tojson writes it (json.dumps with ", "
// and ": ", non-ASCII kept). A template without a tool format refuses tools and calls.
import FactoryJSON
import FactoryPluginKit

/// One tool call of a function_call message.
public struct ToolCall: Sendable {
    public let name: String
    public let arguments: JSON
}

/// A family's tool format.
public struct ToolFormat: Sendable {
    /// Its name, as LLaMA-Factory's tool_format names it.
    public let name: String
    /// The system turn's text from the system prompt (nil: none) and the tools, each as
    /// {"type": "function", "function": {...}}.
    public let system: @Sendable (_ systemPrompt: String?, _ tools: [JSON]) -> String
    /// The text of one function_call message.
    public let calls: @Sendable ([ToolCall]) -> String

    public init(name: String, system: @escaping @Sendable (String?, [JSON]) -> String, calls: @escaping @Sendable ([ToolCall]) -> String) {
        (self.name, self.system, self.calls) = (name, system, calls)
    }

    /// The tools of the render options: a JSON list, each wrapped as {"type": "function", "function": tool}
    /// unless it already is (LLaMA-Factory's and transformers' convention). Empty for "" or "[]".
    public static func tools(_ text: String) throws -> [JSON] {
        guard !text.filter({ !$0.isWhitespace }).isEmpty else { return [] }
        let parsed: JSON
        do { parsed = try JSON.parse(text) } catch { throw PluginError.invalidArgument("tools: not JSON (\(error))") }
        let list = parsed.arrayValue ?? [parsed]
        return try list.map { tool in
            guard let object = tool.objectValue else { throw PluginError.invalidArgument("tools: each tool must be a JSON object, got \(tool.kindDescription)") }
            if object["type"]?.stringValue == "function" { return tool }
            return .object(JSONObject([("type", "function"), ("function", tool)]))
        }
    }

    /// The calls of a function_call message's content: {"name", "arguments"} or a list of them.
    public static func calls(_ content: String, message index: Int) throws -> [ToolCall] {
        let parsed: JSON
        do { parsed = try JSON.parse(content) } catch {
            throw PluginError.invalidArgument("message \(index): a function_call must be JSON {\"name\": …, \"arguments\": …} (\(error))")
        }
        return try (parsed.arrayValue ?? [parsed]).map { call in
            guard let name = call["name"]?.stringValue, let arguments = call["arguments"] else {
                throw PluginError.invalidArgument("message \(index): a function_call needs \"name\" and \"arguments\", got \(call.serialized())")
            }
            return ToolCall(name: name, arguments: arguments)
        }
    }
}

extension ToolFormat {
    /// Qwen2.5 / Qwen3 (Hermes-style): the tools as JSON lines inside <tools></tools> after the system prompt,
    /// each call a <tool_call> block. `rawStringArguments`: arguments given as a string go in as they are
    /// (Qwen3's template), rather than as a JSON string (Qwen2.5's tojson).
    public static func qwen(rawStringArguments: Bool) -> ToolFormat {
        ToolFormat(name: "qwen", system: { prompt, tools in
            (prompt.map { $0 + "\n\n" } ?? "") + "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
                + tools.map { "\n" + $0.spacedLine() }.joined()
                + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
        }, calls: { calls in
            calls.map { call in
                let arguments = rawStringArguments ? (call.arguments.stringValue ?? call.arguments.spacedLine()) : call.arguments.spacedLine()
                return "<tool_call>\n{\"name\": " + JSON.string(call.name).spacedLine() + ", \"arguments\": " + arguments + "}\n</tool_call>"
            }.joined(separator: "\n")
        })
    }
}
