import FactoryJSON

/// Turns a row of any formatting into a Conversation, checking it as it goes:
/// every problem is `file:row field: problem`.
public enum DatasetConverter {
    public static func convert(_ row: DatasetReader.Row, _ a: DatasetAttributes) throws -> Conversation {
        // tools and calls go to the template, which writes them in its family's format or refuses them
        var conversation: Conversation
        switch a.formatting {
        case .alpaca: conversation = try alpaca(row, a)
        case .sharegpt, .openai: conversation = try sharegpt(row, a)
        }
        // stage kto's label: whether the row's answer is desirable (a boolean, as LLaMA-Factory reads it)
        if let tagColumn = a.columns["kto_tag"], let tag = row.object[tagColumn] {
            guard let b = tag.boolValue else { throw DataError("\(row.origin) \(tagColumn): must be true or false") }
            conversation.ktoTag = b
        }
        return conversation
    }

    static func text(_ row: DatasetReader.Row, _ column: String?, required: Bool) throws -> String? {
        guard let column else { return nil }
        switch row.object[column] {
        case .string(let s)?: return s
        case .null?, nil:
            if required { throw DataError("\(row.origin) \(column): missing") }
            return nil
        case let other?: throw DataError("\(row.origin) \(column): must be a string, got \(other.kindDescription)")
        }
    }

    /// alpaca: history pairs, then prompt (+ "\n" + query) → user, response → assistant.
    static func alpaca(_ row: DatasetReader.Row, _ a: DatasetAttributes) throws -> Conversation {
        var messages: [Message] = []
        if let historyColumn = a.columns["history"], let history = row.object[historyColumn], history != .null {
            guard let turns = history.arrayValue else { throw DataError("\(row.origin) \(historyColumn): must be a list of [prompt, response] pairs") }
            for (i, turn) in turns.enumerated() {
                guard let pair = turn.arrayValue, pair.count == 2, let q = pair[0].stringValue, let r = pair[1].stringValue else {
                    throw DataError("\(row.origin) \(historyColumn)[\(i)]: must be a [prompt, response] pair of strings")
                }
                messages += [Message(role: "user", content: q), Message(role: "assistant", content: r)]
            }
        }
        let prompt = try text(row, a.columns["prompt"], required: true) ?? ""
        let query = try text(row, a.columns["query"], required: false) ?? ""
        let user = query.isEmpty ? prompt : prompt + "\n" + query
        guard !user.isEmpty else { throw DataError("\(row.origin) \(a.columns["prompt"] ?? "instruction"): empty prompt") }
        messages.append(Message(role: "user", content: user))
        var conversation = Conversation(system: try text(row, a.columns["system"], required: false), messages: messages,
                                        tools: try text(row, a.columns["tools"], required: false), origin: row.origin)
        if a.ranking {
            conversation.chosen = Message(role: "assistant", content: try text(row, a.columns["chosen"] ?? "chosen", required: true) ?? "")
            conversation.rejected = Message(role: "assistant", content: try text(row, a.columns["rejected"] ?? "rejected", required: true) ?? "")
        } else {
            let response = try text(row, a.columns["response"], required: true) ?? ""
            conversation.messages.append(Message(role: "assistant", content: response))
        }
        return conversation
    }

    /// sharegpt / openai: a list of {role_tag: ..., content_tag: ...}; an optional leading system turn.
    static func sharegpt(_ row: DatasetReader.Row, _ a: DatasetAttributes) throws -> Conversation {
        let column = a.columns["messages"] ?? "conversations"
        guard let turns = row.object[column]?.arrayValue else { throw DataError("\(row.origin) \(column): missing or not a list") }
        let roleTag = a.tags["role_tag"]!, contentTag = a.tags["content_tag"]!
        let roles = [a.tags["user_tag"]!: "user", a.tags["assistant_tag"]!: "assistant", a.tags["observation_tag"]!: "observation",
                     a.tags["function_tag"]!: "function_call", a.tags["system_tag"]!: "system"]
        var system = try text(row, a.columns["system"], required: false)
        var messages: [Message] = []
        for (i, turn) in turns.enumerated() {
            let at = "\(row.origin) \(column)[\(i)]"
            guard let object = turn.objectValue else { throw DataError("\(at): must be an object") }
            guard let tag = object[roleTag]?.stringValue else { throw DataError("\(at).\(roleTag): missing") }
            guard let role = roles[tag] else { throw DataError("\(at).\(roleTag): unknown role '\(tag)' (\(roles.keys.sorted().joined(separator: ", ")))") }
            guard let content = object[contentTag]?.stringValue else { throw DataError("\(at).\(contentTag): must be a string") }
            if role == "system" {
                guard i == 0 else { throw DataError("\(at): a system turn must come first") }
                system = content
                continue
            }
            let expectUser = messages.count % 2 == 0
            let fromUser = role == "user" || role == "observation"
            guard expectUser == fromUser else {
                throw DataError("\(at): role '\(tag)' out of order (turns alternate user/observation and assistant/function_call)")
            }
            messages.append(Message(role: role, content: content))
        }
        var conversation = Conversation(system: system, messages: messages, tools: try text(row, a.columns["tools"], required: false), origin: row.origin)
        if a.ranking {
            guard messages.count % 2 == 1 else { throw DataError("\(row.origin) \(column): a ranking row ends with a user turn") }
            func answer(_ key: String) throws -> Message {
                let name = a.columns[key] ?? key
                guard let o = row.object[name]?.objectValue, let c = o[contentTag]?.stringValue else { throw DataError("\(row.origin) \(name): missing") }
                return Message(role: "assistant", content: c)
            }
            conversation.chosen = try answer("chosen")
            conversation.rejected = try answer("rejected")
        } else {
            guard !messages.isEmpty, messages.count % 2 == 0 else {
                throw DataError("\(row.origin) \(column): needs alternating user/assistant turns ending with the assistant (\(messages.count) turns)")
            }
        }
        return conversation
    }
}
