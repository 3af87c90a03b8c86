extension JSON {
    /// Compact JSON text. Non-finite doubles become null (JSON has no NaN).
    public func serialized() -> String {
        var out = ""
        write(to: &out, indent: nil, depth: 0)
        return out
    }

    /// One line with Python's json.dumps separators (", " and ": "), as Jinja's tojson writes.
    public func spacedLine() -> String {
        var out = ""
        write(to: &out, indent: nil, depth: 0, spaced: true)
        return out
    }

    /// Indented JSON text (two spaces), for people.
    public func prettyPrinted() -> String {
        var out = ""
        write(to: &out, indent: "  ", depth: 0)
        return out
    }

    private func write(to out: inout String, indent: String?, depth: Int, spaced: Bool = false) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if !d.isFinite { out += "null" } else if d.rounded() == d && abs(d) < 1e15 { out += String(Int64(d)) + ".0" } else { out += "\(d)" }
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (n, item) in items.enumerated() {
                if n > 0 { out += spaced ? ", " : "," }
                JSON.newline(&out, indent, depth + 1)
                item.write(to: &out, indent: indent, depth: depth + 1, spaced: spaced)
            }
            JSON.newline(&out, indent, depth)
            out += "]"
        case .object(let object):
            if object.count == 0 { out += "{}"; return }
            out += "{"
            for (n, (key, value)) in object.pairs.enumerated() {
                if n > 0 { out += spaced ? ", " : "," }
                JSON.newline(&out, indent, depth + 1)
                JSON.writeString(key, to: &out)
                out += indent == nil && !spaced ? ":" : ": "
                value.write(to: &out, indent: indent, depth: depth + 1, spaced: spaced)
            }
            JSON.newline(&out, indent, depth)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ depth: Int) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<depth { out += indent }
    }

    /// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters as Python's
    /// json.dumps does (\b, \f, \n, \r, \t by name, the others as \u00XX); other characters as they are.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
