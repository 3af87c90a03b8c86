import FactoryJSON

/// A typed config value, converted from YAML by the key's ConfigType.
public enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case list([String])
    case json(JSON)

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .list(let l): return l.joined(separator: ",")
        case .json(let j): return j.serialized()
        }
    }

    /// Converts `node` to `type`; nil for a YAML null (the key counts as unset).
    /// The thrown message names the expected type and the value.
    static func convert(_ node: YAMLNode, to type: ConfigType) throws(ConversionFailure) -> ConfigValue? {
        if node.isNull { return nil }
        switch type {
        case .string:
            guard case .scalar(let s, _, _) = node else { throw ConversionFailure(expected: type, got: node) }
            return .string(s)
        case .int:
            guard case .scalar(let s, _, _) = node, let i = Int(s.replacingUnderscores()) else { throw ConversionFailure(expected: type, got: node) }
            return .int(i)
        case .float:
            // PyYAML reads `1e-4` as a string and LLaMA-Factory's argument parser casts it: accept any number text.
            guard case .scalar(let s, _, _) = node, let d = Double(s.replacingUnderscores()), d.isFinite else { throw ConversionFailure(expected: type, got: node) }
            return .double(d)
        case .bool:
            guard case .scalar(let s, _, _) = node else { throw ConversionFailure(expected: type, got: node) }
            switch s.lowercased() {
            case "true", "yes", "on": return .bool(true)
            case "false", "no", "off": return .bool(false)
            default: throw ConversionFailure(expected: type, got: node)
            }
        case .list:
            switch node {
            case .scalar(let s, _, _):
                return .list(s.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty })
            case .sequence(let items, _):
                var out: [String] = []
                for item in items {
                    guard case .scalar(let s, _, _) = item else { throw ConversionFailure(expected: type, got: node) }
                    out.append(s)
                }
                return .list(out)
            case .mapping:
                throw ConversionFailure(expected: type, got: node)
            }
        case .any:
            return .json(node.json)
        }
    }
}

/// Why a YAML value does not fit a key's type.
struct ConversionFailure: Error {
    let expected: ConfigType
    let got: YAMLNode

    /// True for a number that does not fit: integer digits past Int's range, or a float past Double's.
    var isOutOfRangeNumber: Bool {
        guard case .scalar(let raw, true, _) = got else { return false }
        let s = raw.replacingUnderscores()
        switch expected {
        case .int:
            let digits = s.hasPrefix("-") || s.hasPrefix("+") ? s.dropFirst() : Substring(s)
            return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        case .float:
            return Double(s)?.isInfinite ?? false
        default:
            return false
        }
    }

    var gotDescription: String {
        switch got {
        case .scalar(let s, _, _): return "'\(s)'"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

extension YAMLNode {
    /// The node as JSON: plain scalars become numbers, booleans or null where they read as such.
    var json: JSON {
        switch self {
        case .scalar(let s, let plain, _):
            guard plain else { return .string(s) }
            if isNull { return .null }
            if let i = Int64(s) { return .int(i) }
            if let d = Double(s), d.isFinite, s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(d) }
            switch s { case "true", "True", "TRUE": return .bool(true); case "false", "False", "FALSE": return .bool(false); default: return .string(s) }
        case .sequence(let items, _): return .array(items.map(\.json))
        case .mapping(let entries, _): return .object(JSONObject(entries.map { ($0.key, $0.value.json) }))
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

extension ConfigValue {
    /// The value as JSON (lists as arrays), for plugin configs.
    public var json: JSON {
        switch self {
        case .string(let s): return .string(s)
        case .int(let i): return .int(Int64(i))
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .list(let l): return .array(l.map { .string($0) })
        case .json(let j): return j
        }
    }
}

extension RunConfig {
    /// The set keys of one schema group (e.g. "finetuning") plus `extra` keys, as a JSON object.
    public func section(_ group: String, extra: [String] = []) -> JSONObject {
        let names = Set((ConfigSchema.groups.first { $0.name == group }?.keys.map(\.name) ?? []) + extra)
        return JSONObject(keys.filter { names.contains($0) }.compactMap { key in values[key].map { (key, $0.json) } })
    }
}
