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
    /// How the host reads calls back from an answer (chat_template.h's output_format "tool_calls").
    public let parsing: JSONObject

    public init(name: String, system: @escaping @Sendable (String?, [JSON]) -> String, calls: @escaping @Sendable ([ToolCall]) -> String,
                parsing: JSONObject) {
        (self.name, self.system, self.calls, self.parsing) = (name, system, calls, parsing)
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
        }, parsing: JSONObject([("style", "tagged"), ("open", "<tool_call>"), ("close", "</tool_call>"), ("name", "name"), ("arguments", "arguments")]))
    }
}

extension ToolFormat {
    /// LLaMA-Factory's "default" format (its DEFAULT_TOOL_PROMPT, for templates whose models publish none):
    /// each tool's arguments listed after the system prompt, a call as "Action: name\nAction Input: {json}".
    public static let `default` = ToolFormat(name: "default", system: { prompt, tools in
        var text = "", names: [String] = []
        for wrapped in tools {
            let tool = wrapped["function"] ?? wrapped
            let name = tool["name"]?.stringValue ?? ""
            text += "> Tool Name: \(name)\nTool Description: \(tool["description"]?.stringValue ?? "")\nTool Args:\n"
            let required = Set((tool["parameters"]?["required"]?.arrayValue ?? []).compactMap(\.stringValue))
            for (argument, spec) in tool["parameters"]?["properties"]?.objectValue?.pairs ?? [] {
                let enumText = (spec["enum"]?.arrayValue).map { ", should be one of [" + $0.map(word).joined(separator: ", ") + "]" } ?? ""
                let itemsText = spec["items"].map { ", where each item should be " + ($0["type"].map(word) ?? "") } ?? ""
                text += "  - \(argument) (\(spec["type"].map(word) ?? "")\(required.contains(argument) ? ", required" : "")): "
                    + "\(spec["description"]?.stringValue ?? "")\(enumText)\(itemsText)\n"
            }
            text += "\n"
            names.append(name)
        }
        return (prompt ?? "") + "You have access to the following tools:\n" + text + "Use the following format if using a tool:\n```\n"
            + "Action: tool name (one of [\(names.joined(separator: ", "))])\n"
            + "Action Input: the input to the tool, in a JSON format representing the kwargs (e.g. ```{\"input\": \"hello world\", \"num_beams\": 5}```)\n```\n"
    }, calls: { calls in
        calls.map { "Action: \($0.name)\nAction Input: \($0.arguments.spacedLine())" }.joined(separator: "\n")
    }, parsing: JSONObject([("style", "action"), ("name", "name"), ("arguments", "arguments")]))

    /// LLaMA-Factory's "llama3" format (Llama 3.1's JSON tool calling with the tools in the system turn):
    /// the tools as 4-space-indented JSON after the knowledge and today's date — fixed to `date` (Llama 3.1's
    /// template default, 26 Jul 2024) rather than the day of the run, so the data is the same every day;
    /// a call as {"name", "parameters"} (a list of them for several).
    public static func llama3(date: String = "26 Jul 2024") -> ToolFormat {
        ToolFormat(name: "llama3", system: { prompt, tools in
            (prompt ?? "") + "Cutting Knowledge Date: December 2023\nToday Date: \(date)\n\n"
                + "You have access to the following functions. To call a function, please respond with JSON for a function call. "
                + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. Do not use variables.\n\n"
                + tools.map { indented($0, 4) + "\n\n" }.joined()
        }, calls: { calls in
            let objects = calls.map { JSON.object(JSONObject([("name", .string($0.name)), ("parameters", $0.arguments)])) }
            return (objects.count == 1 ? objects[0] : .array(objects)).spacedLine()
        }, parsing: JSONObject([("style", "json"), ("name", "name"), ("arguments", "parameters")]))
    }

    /// LLaMA-Factory's "mistral" format (Mistral v0.3's tool tokens): the tools as one JSON list in
    /// "[AVAILABLE_TOOLS] …[/AVAILABLE_TOOLS]" after the system prompt, the calls as one JSON list of {"name", "arguments"}.
    public static let mistral = ToolFormat(name: "mistral", system: { prompt, tools in
        (prompt ?? "") + "[AVAILABLE_TOOLS] " + JSON.array(tools).spacedLine() + "[/AVAILABLE_TOOLS]"
    }, calls: { calls in
        JSON.array(calls.map { .object(JSONObject([("name", .string($0.name)), ("arguments", $0.arguments)])) }).spacedLine()
    }, parsing: JSONObject([("style", "json"), ("prefix", "[TOOL_CALLS]"), ("name", "name"), ("arguments", "arguments")]))

    /// A JSON value as Python's str() shows a string (as itself) or json.dumps anything else.
    static func word(_ v: JSON) -> String { v.stringValue ?? v.spacedLine() }

    /// json.dumps(value, indent: n, ensure_ascii=False): one item per line, "," and ": " separators.
    static func indented(_ value: JSON, _ n: Int, depth: Int = 0) -> String {
        let pad = String(repeating: " ", count: n * (depth + 1)), close = String(repeating: " ", count: n * depth)
        switch value {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + indented($0, n, depth: depth + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let o) where o.count > 0:
            return "{\n" + o.pairs.map { pad + JSON.string($0.0).spacedLine() + ": " + indented($0.1, n, depth: depth + 1) }.joined(separator: ",\n")
                + "\n" + close + "}"
        default:
            return value.spacedLine()
        }
    }
}
