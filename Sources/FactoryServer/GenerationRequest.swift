// The body of POST /v1/chat/completions and /v1/completions, read field by field as the OpenAI API defines
// them and checked: a wrong value is a 400 naming the field, and a field Factory does not serve (logprobs,
// a JSON response format, a forced tool choice) is refused in one line, never ignored. Tool calls in the
// conversation become the template's "function_call" turns, tool results its "tool" turns.
import FactoryJSON
import FactoryPipeline

struct GenerationRequest {
    /// Chat messages (role, content), or nil for a raw completion; roles are the template's (system, user,
    /// assistant, function_call with the calls as JSON, tool).
    var messages: [(role: String, content: String)]?
    /// The function tools offered (OpenAI's {"type": "function", "function": {...}}), and whether calls in
    /// the answer are read back (tool_choice is not "none").
    var tools: [JSON] = []
    var readsToolCalls = false
    var prompt = ""
    var model: String?
    /// The adapter `model` names among api_adapters (0: the base model).
    var adapter = 0
    var sampling: SamplingOptions
    var stop: [String] = []
    var n = 1
    var stream = false
    var includeUsage = false

    /// Fields a client may send that change nothing here.
    static let harmless: Set<String> = ["user", "metadata", "store", "service_tier"]

    /// Reads `body`; `chat` for /v1/chat/completions; `defaults` the config's generating keys.
    init(_ body: JSON, chat: Bool, defaults: SamplingOptions) throws {
        guard let object = body.objectValue else { throw APIError.badRequest("the body must be a JSON object") }
        sampling = defaults
        var known: Set<String> = ["model", "temperature", "top_p", "max_tokens", "stop", "n", "seed", "stream", "stream_options",
                                  "presence_penalty", "frequency_penalty", "logprobs", "response_format"]
        known.formUnion(chat ? ["messages", "max_completion_tokens", "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
                                "top_logprobs"] : ["prompt", "echo", "suffix", "best_of"])
        if let unknown = object.pairs.map(\.0).first(where: { !known.contains($0) && !Self.harmless.contains($0) }) {
            throw APIError.badRequest("\(unknown): not a field Factory serves", param: unknown)
        }
        func number(_ key: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let v = object[key], v != .null else { return nil }
            guard let d = v.doubleValue, range.contains(d) else { throw APIError.badRequest("\(key) must be a number in [\(range.lowerBound), \(range.upperBound)]", param: key) }
            return d
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = object[key], v != .null else { return nil }
            guard let i = v.intValue, let n = Int(exactly: i), range.contains(n) else {
                throw APIError.badRequest("\(key) must be an integer in [\(range.lowerBound), \(range.upperBound)]", param: key)
            }
            return n
        }
        model = object["model"]?.stringValue
        if let t = try number("temperature", 0...2) {
            if t == 0 { sampling.doSample = false } else { sampling.doSample = true; sampling.temperature = Float(t) }
        }
        if let p = try number("top_p", 0...1) {
            guard p > 0 else { throw APIError.badRequest("top_p must be greater than 0", param: "top_p") }
            sampling.topP = Float(p)
        }
        if let m = try integer("max_completion_tokens", 1...1_000_000) ?? integer("max_tokens", 1...1_000_000) { sampling.maxNewTokens = m }
        if let s = try integer("seed", Int(Int64.min)...Int(Int64.max)) { sampling.seed = UInt64(bitPattern: Int64(s)) }
        n = try integer("n", 1...16) ?? 1
        if let p = try number("presence_penalty", -2...2) { sampling.presencePenalty = Float(p) }
        if let f = try number("frequency_penalty", -2...2) { sampling.frequencyPenalty = Float(f) }
        if object["logprobs"]?.boolValue == true || (object["logprobs"]?.intValue ?? 0) > 0 {
            throw APIError.badRequest("logprobs: not served yet", param: "logprobs")
        }
        switch object["response_format"]?["type"]?.stringValue {
        case nil, "text"?: break
        case let other?: throw APIError.badRequest("response_format \(other): not served yet (text only)", param: "response_format")
        }
        if object["functions"]?.arrayValue?.isEmpty == false || object["function_call"] != nil {
            throw APIError.badRequest("functions and function_call are OpenAI's deprecated form: send tools and tool_choice", param: "functions")
        }
        switch object["tools"] {
        case nil, .null?: break
        case .array(let list)?:
            tools = try list.enumerated().map { i, tool in
                guard tool["type"]?.stringValue == "function", let name = tool["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw APIError.badRequest("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": …}}", param: "tools[\(i)]")
                }
                return tool
            }
        default: throw APIError.badRequest("tools must be a list", param: "tools")
        }
        switch object["tool_choice"] {
        case nil, .null?, .string("auto")?: readsToolCalls = !tools.isEmpty
        case .string("none")?: readsToolCalls = false
        default:
            throw APIError.badRequest("tool_choice: only auto and none are served (Factory does not constrain decoding to force a call)", param: "tool_choice")
        }
        if object["parallel_tool_calls"]?.boolValue == false {
            throw APIError.badRequest("parallel_tool_calls false: not served (the model may write several calls; Factory does not constrain decoding)",
                                      param: "parallel_tool_calls")
        }
        switch object["stop"] {
        case nil, .null?: break
        case .string(let s)?: stop = [s]
        case .array(let items)? where items.count <= 4 && items.allSatisfy({ $0.stringValue != nil }): stop = items.compactMap(\.stringValue)
        default: throw APIError.badRequest("stop must be a string or a list of at most 4 strings", param: "stop")
        }
        stop = stop.filter { !$0.isEmpty }
        switch object["stream"] {
        case nil, .null?: break
        case .bool(let b)?: stream = b
        default: throw APIError.badRequest("stream must be a boolean", param: "stream")
        }
        includeUsage = object["stream_options"]?["include_usage"]?.boolValue ?? false
        if chat {
            guard let list = object["messages"]?.arrayValue, !list.isEmpty else { throw APIError.badRequest("messages must be a non-empty list", param: "messages") }
            messages = try list.enumerated().map { i, m in
                guard let role = m["role"]?.stringValue, ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                    throw APIError.badRequest("messages[\(i)].role must be system, developer, user, assistant or tool", param: "messages[\(i)].role")
                }
                if role == "assistant", let calls = m["tool_calls"]?.arrayValue, !calls.isEmpty {
                    return ("function_call", try Self.callsTurn(calls, message: i, content: m["content"]))
                }
                let content: String
                switch m["content"] {
                case .string(let s)?: content = s
                case .array(let parts)?:
                    content = try parts.map { part -> String in
                        guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                            throw APIError.badRequest("messages[\(i)].content: only text parts are served", param: "messages[\(i)].content")
                        }
                        return text
                    }.joined()
                case .null?, nil where role == "assistant": content = ""
                default: throw APIError.badRequest("messages[\(i)].content must be a string or a list of text parts", param: "messages[\(i)].content")
                }
                return (role == "developer" ? "system" : role, content)
            }
        } else {
            switch object["prompt"] {
            case .string(let s)?: prompt = s
            case .array(let items)? where items.count == 1 && items[0].stringValue != nil: prompt = items[0].stringValue!
            default: throw APIError.badRequest("prompt must be a string", param: "prompt")
            }
            guard object["echo"]?.boolValue != true else { throw APIError.badRequest("echo: not served yet", param: "echo") }
            guard object["suffix"] == nil || object["suffix"] == .null else { throw APIError.badRequest("suffix: not served yet", param: "suffix") }
            guard (object["best_of"]?.intValue ?? 1) == 1 else { throw APIError.badRequest("best_of: not served yet (1 only)", param: "best_of") }
        }
    }

    /// An assistant message's tool calls as the template's function_call turn: a JSON list of {"name",
    /// "arguments"} (the arguments parsed from OpenAI's JSON string). Text beside the calls has no place in
    /// that turn: refused rather than dropped.
    static func callsTurn(_ calls: [JSON], message i: Int, content: JSON?) throws -> String {
        switch content {
        case nil, .null?, .string("")?: break
        default: throw APIError.badRequest("messages[\(i)]: an assistant message with tool_calls must have no content (the template's call turn has no place for it)",
                                           param: "messages[\(i)].content")
        }
        return JSON.array(try calls.enumerated().map { j, call in
            guard let name = call["function"]?["name"]?.stringValue, let text = call["function"]?["arguments"]?.stringValue else {
                throw APIError.badRequest("messages[\(i)].tool_calls[\(j)] needs function.name and function.arguments (a JSON string)", param: "messages[\(i)].tool_calls[\(j)]")
            }
            guard let arguments = try? JSON.parse(text) else {
                throw APIError.badRequest("messages[\(i)].tool_calls[\(j)].function.arguments is not JSON", param: "messages[\(i)].tool_calls[\(j)]")
            }
            return .object(JSONObject([("name", .string(name)), ("arguments", arguments)]))
        }).serialized()
    }
}
