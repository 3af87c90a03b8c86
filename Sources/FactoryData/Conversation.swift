/// One message of a training conversation.
public struct Message: Equatable, Sendable {
    /// "user", "assistant", "system", "function_call" or "observation".
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A dataset row in the common form every formatting converts to.
public struct Conversation: Equatable, Sendable {
    public var system: String?
    public var messages: [Message]
    public var tools: String?
    /// Pairwise rows: the preferred and the rejected final answer.
    public var chosen: Message?
    public var rejected: Message?
    /// KTO rows: whether the answer is desirable.
    public var ktoTag: Bool?
    /// Where the row came from, for messages ("data/x.json:12").
    public var origin: String

    public init(system: String? = nil, messages: [Message], tools: String? = nil, origin: String) {
        self.system = system
        self.messages = messages
        self.tools = tools
        self.origin = origin
    }
}

/// A row that cannot be used: `file:row field: problem`.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
