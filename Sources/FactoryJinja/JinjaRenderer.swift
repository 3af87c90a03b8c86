import FactoryJSON

/// Evaluates a template tree: scopes of variables, loops, macros, filters, tests.
final class JinjaRenderer {
    var scopes: [[String: JinjaValue]]
    var macros: [String: (parameters: [(String, JinjaExpr?)], body: [JinjaNode])] = [:]

    init(globals: [String: JinjaValue]) { scopes = [globals] }

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined
    }

    func render(_ nodes: [JinjaNode], into out: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .output(let e): out += try eval(e).text
            case .set(let target, let value):
                let v = try eval(value)
                if target.count == 2 {
                    guard case .namespace(let ns) = lookup(target[0]) else { throw JinjaError("set \(target[0]).\(target[1]): \(target[0]) is not a namespace") }
                    ns.values[target[1]] = v
                } else {
                    scopes[scopes.count - 1][target[0]] = v
                }
            case .ifChain(let branches, let otherwise):
                var done = false
                for (condition, body) in branches where try eval(condition).truthy {
                    try render(body, into: &out)
                    done = true
                    break
                }
                if !done { try render(otherwise, into: &out) }
            case .forLoop(let targets, let iterable, let filter, let body, let otherwise):
                var items = try iterate(try eval(iterable))
                if let filter {
                    items = try items.filter { item in
                        scopes.append(bind(targets, item))
                        defer { scopes.removeLast() }
                        return try eval(filter).truthy
                    }
                }
                if items.isEmpty { try render(otherwise, into: &out); continue }
                for (i, item) in items.enumerated() {
                    var scope = bind(targets, item)
                    scope["loop"] = .dict([("index", .int(i + 1)), ("index0", .int(i)), ("first", .bool(i == 0)), ("last", .bool(i == items.count - 1)),
                                           ("length", .int(items.count)), ("revindex", .int(items.count - i)), ("revindex0", .int(items.count - i - 1)),
                                           ("previtem", i > 0 ? items[i - 1] : .undefined), ("nextitem", i + 1 < items.count ? items[i + 1] : .undefined)])
                    scopes.append(scope)
                    defer { scopes.removeLast() }
                    try render(body, into: &out)
                }
            case .macro(let name, let parameters, let body):
                macros[name] = (parameters, body)
            }
        }
    }

    func bind(_ targets: [String], _ item: JinjaValue) -> [String: JinjaValue] {
        if targets.count == 1 { return [targets[0]: item] }
        if case .list(let parts) = item { return Dictionary(uniqueKeysWithValues: zip(targets, parts + Array(repeating: .undefined, count: max(0, targets.count - parts.count)))) }
        return [:]
    }

    func iterate(_ v: JinjaValue) throws -> [JinjaValue] {
        switch v {
        case .list(let l): return l
        case .dict(let d): return d.map { .string($0.0) }
        case .string(let s): return s.map { .string(String($0)) }
        case .undefined, .none: return []
        default: throw JinjaError("cannot iterate over \(v.text)")
        }
    }

    func eval(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return .list(try items.map(eval))
        case .dict(let pairs): return .dict(try pairs.map { (try eval($0.0).text, try eval($0.1)) })
        case .attribute(let base, let name):
            let b = try eval(base)
            let v = b[name]
            if case .undefined = v, case .list = b, name == "length" { return .int(try iterate(b).count) }
            return v
        case .index(let base, let key):
            let b = try eval(base), k = try eval(key)
            switch (b, k) {
            case (.list(let l), .int(let i)):
                let j = i < 0 ? l.count + i : i
                return j >= 0 && j < l.count ? l[j] : .undefined
            case (.string(let s), .int(let i)):
                let chars = Array(s)
                let j = i < 0 ? chars.count + i : i
                return j >= 0 && j < chars.count ? .string(String(chars[j])) : .undefined
            case (_, .string(let key)): return b[key]
            default: return .undefined
            }
        case .slice(let base, let start, let end, let step):
            let b = try eval(base)
            var stride = 1
            if let step {
                guard case .int(let k) = try eval(step), k != 0 else { throw JinjaError("slice step must be a non-zero integer") }
                stride = k
            }
            /// Python's slice.indices(n): the positions a slice selects, in order.
            func positions(_ n: Int) throws -> [Int] {
                func bound(_ v: JinjaValue?, _ def: Int) -> Int {
                    guard case .int(let i)? = v else { return def }
                    let j = i < 0 ? n + i : i
                    return stride > 0 ? min(max(j, 0), n) : min(max(j, -1), n - 1)
                }
                let s = bound(try start.map(eval), stride > 0 ? 0 : n - 1), t = bound(try end.map(eval), stride > 0 ? n : -1)
                return Array(Swift.stride(from: s, to: t, by: stride))
            }
            switch b {
            case .list(let l): return .list(try positions(l.count).map { l[$0] })
            case .string(let str):
                let c = Array(str)
                return .string(String(try positions(c.count).map { c[$0] }))
            default: return .undefined
            }
        case .unary(let op, let x):
            let v = try eval(x)
            if op == "not" { return .bool(!v.truthy) }
            switch v {
            case .int(let i): return .int(-i)
            case .double(let d): return .double(-d)
            default: throw JinjaError("cannot negate \(v.text)")
            }
        case .binary(let op, let l, let r):
            if op == "and" { let a = try eval(l); return a.truthy ? try eval(r) : a }
            if op == "or" { let a = try eval(l); return a.truthy ? a : try eval(r) }
            return try binary(op, try eval(l), try eval(r))
        case .conditional(let value, let condition, let otherwise):
            return try eval(condition).truthy ? try eval(value) : try otherwise.map(eval) ?? .undefined
        case .test(let x, let name, let negated):
            let r = try test(try eval(x), name)
            return .bool(negated ? !r : r)
        case .filter(let x, let name, let args):
            return try JinjaFilters.apply(name, try eval(x), try args.map(eval))
        case .call(let callee, let args, let kwargs):
            return try call(callee, try args.map(eval), try kwargs.map { ($0.0, try eval($0.1)) })
        }
    }

    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(a == b)
        case "!=": return .bool(a != b)
        case "~": return .string(a.text + b.text)
        case "in":
            switch b {
            case .string(let s): return .bool(s.contains(a.text))
            case .list(let l): return .bool(l.contains(a))
            case .dict(let d): return .bool(d.contains { $0.0 == a.text })
            default: return .bool(false)
            }
        default: break
        }
        switch (a, b) {
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.list(let x), .list(let y)) where op == "+": return .list(x + y)
        case (.string(let x), .string(let y)):
            switch op { case "<": return .bool(x < y); case ">": return .bool(x > y); case "<=": return .bool(x <= y); case ">=": return .bool(x >= y); default: break }
        case (.int(let x), .int(let y)):
            switch op {
            case "+": return .int(x + y)
            case "-": return .int(x - y)
            case "*": return .int(x * y)
            case "//": guard y != 0 else { throw JinjaError("division by zero") }; return .int(x / y)
            case "%": guard y != 0 else { throw JinjaError("division by zero") }; return .int(((x % y) + y) % y)
            case "/": guard y != 0 else { throw JinjaError("division by zero") }; return .double(Double(x) / Double(y))
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
        default:
            if let x = a.number, let y = b.number {
                switch op {
                case "+": return .double(x + y)
                case "-": return .double(x - y)
                case "*": return .double(x * y)
                case "/": return .double(x / y)
                case "<": return .bool(x < y)
                case ">": return .bool(x > y)
                case "<=": return .bool(x <= y)
                case ">=": return .bool(x >= y)
                default: break
                }
            }
            if op == "*", case .string(let s) = a, case .int(let n) = b { return .string(String(repeating: s, count: max(0, n))) }
        }
        throw JinjaError("unsupported operation \(a.repr) \(op) \(b.repr)")
    }

    func test(_ v: JinjaValue, _ name: String) throws -> Bool {
        switch name {
        case "defined": if case .undefined = v { return false }; return true
        case "undefined": if case .undefined = v { return true }; return false
        case "none": return v == .none
        case "string": if case .string = v { return true }; return false
        case "number": return v.number != nil && !(v == .bool(true) || v == .bool(false))
        case "integer": if case .int = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "sequence", "iterable":
            switch v { case .list, .string, .dict: return true; default: return false }
        case "true": return v == .bool(true)
        case "false": return v == .bool(false)
        default: throw JinjaError("unknown test '\(name)'")
        }
    }

    func call(_ callee: JinjaExpr, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue {
        if case .attribute(let base, let method) = callee {
            return try JinjaFilters.method(try eval(base), method, args)
        }
        guard case .name(let name) = callee else { throw JinjaError("only named functions and methods can be called") }
        switch name {
        case "raise_exception": throw JinjaError(args.first?.text ?? "raise_exception")
        case "range":
            let ints = args.compactMap { v -> Int? in if case .int(let i) = v { return i }; return nil }
            let (start, end) = ints.count >= 2 ? (ints[0], ints[1]) : (0, ints.first ?? 0)
            return .list(start < end ? (start..<end).map { .int($0) } : [])
        case "namespace":
            var values: [String: JinjaValue] = [:]
            for (k, v) in kwargs { values[k] = v }
            return .namespace(JinjaNamespace(values))
        case "dict":
            return .dict(kwargs)
        case "strftime_now":
            return .string("")
        default:
            guard let macro = macros[name] else { throw JinjaError("unknown function '\(name)'") }
            var scope: [String: JinjaValue] = [:]
            for (i, (param, def)) in macro.parameters.enumerated() {
                if i < args.count { scope[param] = args[i] } else if let kw = kwargs.first(where: { $0.0 == param }) { scope[param] = kw.1 } else {
                    scope[param] = try def.map(eval) ?? .undefined
                }
            }
            scopes.append(scope)
            defer { scopes.removeLast() }
            var out = ""
            try render(macro.body, into: &out)
            return .string(out)
        }
    }
}

extension JinjaValue {
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
