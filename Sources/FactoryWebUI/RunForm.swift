// The Train tab's fields as the YAML `factory run` reads: one `key: value` line per field the page filled,
// in the page's order, strings double-quoted (YAML reads JSON's string syntax), then the page's extra YAML
// lines verbatim. Keys are LLaMA-Factory's; `factory run` checks them as it checks any config.
import FactoryJSON
import Foundation

public enum RunForm {
    /// The YAML for `fields` (a JSON object of key → string, number, boolean or list) and `extra` (YAML lines).
    public static func yaml(_ fields: JSONObject, extra: String) throws -> String {
        var lines = ["# written by factory webui"]
        for key in fields.keys {
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !key.isEmpty else { throw WebUIError(400, "field '\(key)': not a config key") }
            guard let value = fields[key] else { continue }
            switch value {
            case .null: continue
            case .string(let s): if s.isEmpty { continue } else { lines.append("\(key): \(JSON.string(s).serialized())") }
            case .bool(let b): lines.append("\(key): \(b)")
            case .int(let i): lines.append("\(key): \(i)")
            case .double(let d): lines.append("\(key): \(d)")
            case .array(let items):
                let names = items.compactMap(\.stringValue)
                guard names.count == items.count else { throw WebUIError(400, "field '\(key)': a list of strings") }
                if !names.isEmpty { lines.append("\(key): \(JSON.string(names.joined(separator: ",")).serialized())") }
            case .object: throw WebUIError(400, "field '\(key)': a value, not an object")
            }
        }
        let trimmed = extra.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { lines.append(trimmed) }
        return lines.joined(separator: "\n") + "\n"
    }
}
