/// A value in a Jinja template (the subset chat templates use).
public indirect enum JinjaValue: Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    /// An ordered mapping.
    case dict([(String, JinjaValue)])
    /// A namespace() object: mutable attributes shared across scopes.
    case namespace(JinjaNamespace)

    public static func == (a: JinjaValue, b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.dict(let x), .dict(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.namespace(let x), .namespace(let y)): return x === y
        default: return false
        }
    }

    /// Jinja truthiness.
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace: return true
        }
    }

    /// The value as output text ({{ ... }}).
    public var text: String {
        switch self {
        case .undefined, .none: return self == .none ? "None" : ""
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { "'\($0.0)': \($0.1.repr)" }.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        }
    }

    /// Python-like repr inside containers.
    var repr: String {
        if case .string(let s) = self { return "'" + s + "'" }
        return text
    }

    /// A member of a dict (or namespace) by key.
    public subscript(key: String) -> JinjaValue {
        switch self {
        case .dict(let d): return d.first { $0.0 == key }?.1 ?? .undefined
        case .namespace(let n): return n.values[key] ?? .undefined
        default: return .undefined
        }
    }

    /// Builds a value from JSON-like Swift values (String, Int, Double, Bool, arrays, [(String, Any)]).
    public static func from(_ any: Any?) -> JinjaValue {
        switch any {
        case nil: return .none
        case let v as JinjaValue: return v
        case let s as String: return .string(s)
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(i)
        case let d as Double: return .double(d)
        case let a as [Any]: return .list(a.map { from($0) })
        case let d as [(String, Any)]: return .dict(d.map { ($0.0, from($0.1)) })
        case let d as [String: Any]: return .dict(d.keys.sorted().map { ($0, from(d[$0])) })
        default: return .undefined
        }
    }
}

/// The object namespace() returns: attributes assignable from inner scopes.
public final class JinjaNamespace {
    var values: [String: JinjaValue]
    init(_ values: [String: JinjaValue]) { self.values = values }
}

/// A template that cannot be parsed or rendered: the message says where.
public struct JinjaError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
