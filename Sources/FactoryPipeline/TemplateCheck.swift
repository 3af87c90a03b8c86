import FactoryHost
import FactoryJSON
import FactoryJinja
import FactoryTokenizers

/// Compares a chat-template plugin with a model's own Jinja template on a set of
/// conversations, token by token: the check that catches a template mismatch before it
/// costs a fine-tuning run.
public enum TemplateCheck {
    /// One conversation's verdict: equal, or where the token streams first differ.
    public struct Result {
        public let name: String
        public let pluginIDs: [Int]
        public let modelIDs: [Int]
        public var matches: Bool { pluginIDs == modelIDs }
        /// Index of the first differing token.
        public var firstDifference: Int? {
            guard !matches else { return nil }
            return zip(pluginIDs, modelIDs).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(pluginIDs.count, modelIDs.count)
        }
    }

    /// The conversations every template is checked on.
    public static let conversations: [(name: String, messages: [(String, String)], generationPrompt: Bool)] = [
        ("single turn, generation prompt", [("user", "Hi")], true),
        ("single turn, no generation prompt", [("user", "Hi"), ("assistant", "Hello!")], false),
        ("explicit system", [("system", "You are a pirate."), ("user", "Where is the treasure?"), ("assistant", "Arr, buried.")], false),
        ("empty system", [("system", ""), ("user", "Hi"), ("assistant", "Hello")], false),
        ("multi-turn", [("user", "1+1?"), ("assistant", "2"), ("user", "2+2?"), ("assistant", "4"), ("user", "3+3?")], true),
        ("newlines and tabs", [("user", "line one\nline two\tend"), ("assistant", "ok\n\nbye")], false),
        ("unicode", [("user", "你好 🙂 café"), ("assistant", "Bonjour — مرحبا")], false),
        ("empty content", [("user", ""), ("assistant", "")], false),
    ]

    public static func run(plugin: ChatTemplateInstance, modelTemplate source: String, tokenizer: Tokenizer) throws -> [Result] {
        let jinja = try JinjaTemplate(source)
        let bos = tokenizer.bosID.map { tokenizer.decode([$0]) } ?? "", eos = tokenizer.eosID.map { tokenizer.decode([$0]) } ?? ""
        return try conversations.map { c in
            let json = JSON.array(c.messages.map { .object(JSONObject([("role", .string($0.0)), ("content", .string($0.1))])) })
            let options = JSON.object(JSONObject([("add_generation_prompt", .bool(c.generationPrompt)), ("bos_token", .string(bos)), ("eos_token", .string(eos))]))
            let pluginText = try plugin.render(messagesJSON: json.serialized(), optionsJSON: options.serialized()).map(\.text).joined()
            let modelText = try jinja.render([
                "messages": .list(c.messages.map { .dict([("role", .string($0.0)), ("content", .string($0.1))]) }),
                "add_generation_prompt": .bool(c.generationPrompt), "bos_token": .string(bos), "eos_token": .string(eos),
            ])
            return Result(name: c.name, pluginIDs: try tokenizer.encode(pluginText), modelIDs: try tokenizer.encode(modelText))
        }
    }
}
