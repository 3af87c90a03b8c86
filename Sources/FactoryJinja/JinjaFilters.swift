import FactoryJSON

/// Filters ({{ x | trim }}) and methods ({{ s.strip() }}) of the chat-template subset.
enum JinjaFilters {
    static func apply(_ name: String, _ v: JinjaValue, _ args: [JinjaValue]) throws -> JinjaValue {
        switch name {
        case "trim": return .string(v.text.trimmingWhitespace())
        case "length", "count":
            switch v {
            case .list(let l): return .int(l.count)
            case .string(let s): return .int(s.count)
            case .dict(let d): return .int(d.count)
            default: return .int(0)
            }
        case "upper": return .string(v.text.uppercased())
        case "lower": return .string(v.text.lowercased())
        case "string": return .string(v.text)
        case "int": return .int(Int(v.text) ?? Int(v.number ?? 0))
        case "first": if case .list(let l) = v { return l.first ?? .undefined }; return .undefined
        case "last": if case .list(let l) = v { return l.last ?? .undefined }; return .undefined
        case "reverse":
            if case .list(let l) = v { return .list(l.reversed()) }
            return .string(String(v.text.reversed()))
        case "join":
            guard case .list(let l) = v else { return .string(v.text) }
            return .string(l.map(\.text).joined(separator: args.first?.text ?? ""))
        case "default", "d":
            if case .undefined = v { return args.first ?? .string("") }
            return v
        case "tojson": return .string(toJSON(v).spacedLine())
        case "items":
            if case .dict(let d) = v { return .list(d.map { .list([.string($0.0), $0.1]) }) }
            return .list([])
        case "capitalize": let t = v.text; return .string(t.prefix(1).uppercased() + t.dropFirst().lowercased())
        case "replace":
            guard args.count >= 2 else { throw JinjaError("replace needs two arguments") }
            return .string(v.text.replacingAll(args[0].text, with: args[1].text))
        default: throw JinjaError("unknown filter '\(name)'")
        }
    }

    static func method(_ v: JinjaValue, _ name: String, _ args: [JinjaValue]) throws -> JinjaValue {
        switch (v, name) {
        case (.string(let s), "strip"): return .string(args.isEmpty ? s.trimmingWhitespace() : s.trimmingCharacters(args[0].text))
        case (.string(let s), "lstrip"):
            var t = Substring(s)
            while let f = t.first, args.isEmpty ? f.isWhitespace : args[0].text.contains(f) { t.removeFirst() }
            return .string(String(t))
        case (.string(let s), "rstrip"):
            var t = Substring(s)
            while let l = t.last, args.isEmpty ? l.isWhitespace : args[0].text.contains(l) { t.removeLast() }
            return .string(String(t))
        case (.string(let s), "startswith"): return .bool(s.hasPrefix(args.first?.text ?? ""))
        case (.string(let s), "endswith"): return .bool(s.hasSuffix(args.first?.text ?? ""))
        case (.string(let s), "upper"): return .string(s.uppercased())
        case (.string(let s), "lower"): return .string(s.lowercased())
        case (.string(let s), "replace"):
            guard args.count >= 2 else { throw JinjaError("replace needs two arguments") }
            return .string(s.replacingAll(args[0].text, with: args[1].text))
        case (.string(let s), "split"):
            if let sep = args.first?.text, !sep.isEmpty { return .list(s.components(separatedBy: sep).map { .string($0) }) }
            return .list(s.split(whereSeparator: \.isWhitespace).map { .string(String($0)) })
        case (.dict(let d), "items"): return .list(d.map { .list([.string($0.0), $0.1]) })
        case (.dict(let d), "keys"): return .list(d.map { .string($0.0) })
        case (.dict(let d), "values"): return .list(d.map { $0.1 })
        case (.dict, "get"): let r = v[args.first?.text ?? ""]; if case .undefined = r { return args.count > 1 ? args[1] : .none }; return r
        default: throw JinjaError("unknown method '\(name)' on \(v.repr)")
        }
    }

    static func toJSON(_ v: JinjaValue) -> JSON {
        switch v {
        case .undefined, .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int64(i))
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let l): return .array(l.map(toJSON))
        case .dict(let d): return .object(JSONObject(d.map { ($0.0, toJSON($0.1)) }))
        case .namespace: return .null
        }
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let r = rest.firstRange(of: separator) {
            parts.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }

    func trimmingCharacters(_ set: String) -> String {
        var t = Substring(self)
        while let f = t.first, set.contains(f) { t.removeFirst() }
        while let l = t.last, set.contains(l) { t.removeLast() }
        return String(t)
    }
}
