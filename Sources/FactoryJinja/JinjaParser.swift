/// Expression tokens.
enum JinjaToken: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
}

/// An expression tree.
indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String)
    case attribute(JinjaExpr, String)
    case index(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    case filter(JinjaExpr, String, [JinjaExpr])
    case test(JinjaExpr, String, negated: Bool)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
}

/// A template tree.
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode])
    case ifChain([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case set(target: [String], value: JinjaExpr)
    case macro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode])
}

/// Tokenises one expression or statement body.
func jinjaTokens(_ source: String) throws -> [JinjaToken] {
    var tokens: [JinjaToken] = []
    let c = Array(source)
    var i = 0
    while i < c.count {
        let ch = c[i]
        if ch.isWhitespace { i += 1; continue }
        if ch == "'" || ch == "\"" {
            var s = ""
            i += 1
            while i < c.count && c[i] != ch {
                if c[i] == "\\" && i + 1 < c.count {
                    i += 1
                    switch c[i] {
                    case "n": s.append("\n")
                    case "t": s.append("\t")
                    case "r": s.append("\r")
                    default: s.append(c[i])
                    }
                } else {
                    s.append(c[i])
                }
                i += 1
            }
            guard i < c.count else { throw JinjaError("unterminated string in '\(source)'") }
            i += 1
            tokens.append(.string(s))
            continue
        }
        if ch.isNumber {
            var j = i
            while j < c.count && (c[j].isNumber || c[j] == ".") { j += 1 }
            let text = String(c[i..<j])
            if text.contains("."), let d = Double(text) { tokens.append(.double(d)) } else if let n = Int(text) { tokens.append(.int(n)) } else {
                throw JinjaError("bad number '\(text)'")
            }
            i = j
            continue
        }
        if ch.isLetter || ch == "_" {
            var j = i
            while j < c.count && (c[j].isLetter || c[j].isNumber || c[j] == "_") { j += 1 }
            tokens.append(.name(String(c[i..<j])))
            i = j
            continue
        }
        let two = i + 1 < c.count ? String(c[i...(i + 1)]) : ""
        if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
            tokens.append(.op(two))
            i += 2
            continue
        }
        guard "+-*/%~<>()[]{}.,|:=!".contains(ch) else { throw JinjaError("unexpected '\(ch)' in '\(source)'") }
        tokens.append(.op(String(ch)))
        i += 1
    }
    return tokens
}

/// Recursive-descent parser over the tokens of one expression.
struct JinjaExprParser {
    var tokens: [JinjaToken]
    var position = 0

    init(_ tokens: [JinjaToken]) { self.tokens = tokens }

    var atEnd: Bool { position >= tokens.count }
    func peek(_ offset: Int = 0) -> JinjaToken? { position + offset < tokens.count ? tokens[position + offset] : nil }

    mutating func next() throws -> JinjaToken {
        guard let t = peek() else { throw JinjaError("unexpected end of expression") }
        position += 1
        return t
    }

    mutating func accept(_ t: JinjaToken) -> Bool {
        if peek() == t { position += 1; return true }
        return false
    }

    mutating func expect(_ t: JinjaToken) throws {
        guard accept(t) else { throw JinjaError("expected \(t), found \(peek().map { "\($0)" } ?? "the end")") }
    }

    mutating func expression() throws -> JinjaExpr {
        let value = try orExpr()
        if peek() == .name("if") {
            position += 1
            let condition = try orExpr()
            var otherwise: JinjaExpr?
            if accept(.name("else")) { otherwise = try expression() }
            return .conditional(value, condition: condition, otherwise: otherwise)
        }
        return value
    }

    mutating func orExpr() throws -> JinjaExpr {
        var left = try andExpr()
        while accept(.name("or")) { left = .binary("or", left, try andExpr()) }
        return left
    }

    mutating func andExpr() throws -> JinjaExpr {
        var left = try notExpr()
        while accept(.name("and")) { left = .binary("and", left, try notExpr()) }
        return left
    }

    mutating func notExpr() throws -> JinjaExpr {
        if accept(.name("not")) { return .unary("not", try notExpr()) }
        return try comparison()
    }

    mutating func comparison() throws -> JinjaExpr {
        var left = try concat()
        while true {
            if case .op(let o)? = peek(), ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                position += 1
                left = .binary(o, left, try concat())
            } else if accept(.name("in")) {
                left = .binary("in", left, try concat())
            } else if peek() == .name("not") && peek(1) == .name("in") {
                position += 2
                left = .unary("not", .binary("in", left, try concat()))
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                guard case .name(let test) = try next() else { throw JinjaError("expected a test name after 'is'") }
                left = .test(left, test, negated: negated)
            } else {
                return left
            }
        }
    }

    mutating func concat() throws -> JinjaExpr {
        var left = try additive()
        while accept(.op("~")) { left = .binary("~", left, try additive()) }
        return left
    }

    mutating func additive() throws -> JinjaExpr {
        var left = try multiplicative()
        while case .op(let o)? = peek(), o == "+" || o == "-" {
            position += 1
            left = .binary(o, left, try multiplicative())
        }
        return left
    }

    mutating func multiplicative() throws -> JinjaExpr {
        var left = try unary()
        while case .op(let o)? = peek(), ["*", "/", "//", "%"].contains(o) {
            position += 1
            left = .binary(o, left, try unary())
        }
        return left
    }

    mutating func unary() throws -> JinjaExpr {
        if accept(.op("-")) { return .unary("-", try unary()) }
        return try postfix()
    }

    mutating func postfix() throws -> JinjaExpr {
        var e = try primary()
        while true {
            if accept(.op(".")) {
                guard case .name(let n) = try next() else { throw JinjaError("expected an attribute name after '.'") }
                e = .attribute(e, n)
            } else if accept(.op("[")) {
                var start: JinjaExpr?
                if peek() != .op(":") { start = try expression() }
                if accept(.op(":")) {
                    var end: JinjaExpr?, step: JinjaExpr?
                    if peek() != .op("]") && peek() != .op(":") { end = try expression() }
                    if accept(.op(":")), peek() != .op("]") { step = try expression() }
                    try expect(.op("]"))
                    e = .slice(e, start, end, step)
                } else {
                    try expect(.op("]"))
                    guard let start else { throw JinjaError("empty index") }
                    e = .index(e, start)
                }
            } else if accept(.op("(")) {
                let (args, kwargs) = try arguments()
                e = .call(e, args, kwargs)
            } else if accept(.op("|")) {
                guard case .name(let f) = try next() else { throw JinjaError("expected a filter name after '|'") }
                var args: [JinjaExpr] = []
                if accept(.op("(")) { args = try arguments().0 }
                e = .filter(e, f, args)
            } else {
                return e
            }
        }
    }

    mutating func arguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        while !accept(.op(")")) {
            if case .name(let n)? = peek(), peek(1) == .op("=") {
                position += 2
                kwargs.append((n, try expression()))
            } else {
                args.append(try expression())
            }
            if !accept(.op(",")) { try expect(.op(")")); break }
        }
        return (args, kwargs)
    }

    mutating func primary() throws -> JinjaExpr {
        switch try next() {
        case .string(let s):
            var text = s
            while case .string(let more)? = peek() { text += more; position += 1 }  // adjacent literals concatenate
            return .literal(.string(text))
        case .int(let n): return .literal(.int(n))
        case .double(let d): return .literal(.double(d))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .op("("):
            let e = try expression()
            if accept(.op(",")) {
                var items = [e]
                while !accept(.op(")")) { items.append(try expression()); _ = accept(.op(",")) }
                return .list(items)
            }
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [JinjaExpr] = []
            while !accept(.op("]")) {
                items.append(try expression())
                if !accept(.op(",")) { try expect(.op("]")); break }
            }
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !accept(.op("}")) {
                let k = try expression()
                try expect(.op(":"))
                pairs.append((k, try expression()))
                if !accept(.op(",")) { try expect(.op("}")); break }
            }
            return .dict(pairs)
        case let t:
            throw JinjaError("unexpected \(t) in an expression")
        }
    }
}
