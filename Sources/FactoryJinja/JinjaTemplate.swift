/// A parsed Jinja template, rendered with a context of variables. Covers what
/// the published chat templates use: for (with loop.*), if/elif/else, set
/// (including namespace attributes), macros, filters, tests, string methods.
public final class JinjaTemplate {
    let nodes: [JinjaNode]

    public init(_ source: String) throws {
        var pieces = try JinjaLexer.split(source)[...]
        nodes = try JinjaTemplate.parse(&pieces, until: [])
        guard pieces.isEmpty else { throw JinjaError("unexpected {% \(pieces.first.map { "\($0)" } ?? "") %}") }
    }

    /// Renders with `context` (e.g. messages, add_generation_prompt, bos_token, eos_token).
    public func render(_ context: [String: JinjaValue]) throws -> String {
        let r = JinjaRenderer(globals: context)
        var out = ""
        try r.render(nodes, into: &out)
        return out
    }

    /// Parses nodes until a statement whose first word is in `terminators` (left in `pieces`).
    static func parse(_ pieces: inout ArraySlice<JinjaLexer.Piece>, until terminators: Set<String>) throws -> [JinjaNode] {
        var nodes: [JinjaNode] = []
        while let piece = pieces.first {
            switch piece {
            case .text(let t):
                pieces.removeFirst()
                nodes.append(.text(t))
            case .expression(let e):
                pieces.removeFirst()
                var p = JinjaExprParser(try jinjaTokens(e))
                nodes.append(.output(try p.expression()))
                guard p.atEnd else { throw JinjaError("unexpected text after the expression in {{\(e)}}") }
            case .statement(let s):
                let tokens = try jinjaTokens(s)
                guard case .name(let keyword)? = tokens.first else { throw JinjaError("empty statement") }
                if terminators.contains(keyword) { return nodes }
                pieces.removeFirst()
                var p = JinjaExprParser(Array(tokens.dropFirst()))
                switch keyword {
                case "for":
                    var targets: [String] = []
                    repeat {
                        guard case .name(let n) = try p.next() else { throw JinjaError("for: expected a loop variable") }
                        targets.append(n)
                    } while p.accept(.op(","))
                    try p.expect(.name("in"))
                    let iterable = try p.orExpr()
                    var filter: JinjaExpr?
                    if p.accept(.name("if")) { filter = try p.expression() }
                    let body = try parse(&pieces, until: ["endfor", "else"])
                    var otherwise: [JinjaNode] = []
                    if try closing(&pieces) == "else" {
                        otherwise = try parse(&pieces, until: ["endfor"])
                        _ = try closing(&pieces)
                    }
                    nodes.append(.forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise))
                case "if":
                    var branches: [(JinjaExpr, [JinjaNode])] = []
                    var condition = try p.expression()
                    var otherwise: [JinjaNode] = []
                    while true {
                        let body = try parse(&pieces, until: ["elif", "else", "endif"])
                        branches.append((condition, body))
                        guard case .statement(let s2)? = pieces.first else { throw JinjaError("if without endif") }
                        pieces.removeFirst()
                        let t2 = try jinjaTokens(s2)
                        if t2.first == .name("elif") {
                            var q = JinjaExprParser(Array(t2.dropFirst()))
                            condition = try q.expression()
                            continue
                        }
                        if t2.first == .name("else") {
                            otherwise = try parse(&pieces, until: ["endif"])
                            _ = try closing(&pieces)
                        }
                        break
                    }
                    nodes.append(.ifChain(branches, otherwise: otherwise))
                case "set":
                    var target: [String] = []
                    guard case .name(let n) = try p.next() else { throw JinjaError("set: expected a name") }
                    target.append(n)
                    if p.accept(.op(".")) {
                        guard case .name(let attr) = try p.next() else { throw JinjaError("set: expected an attribute") }
                        target.append(attr)
                    }
                    try p.expect(.op("="))
                    nodes.append(.set(target: target, value: try p.expression()))
                case "macro":
                    guard case .name(let name) = try p.next() else { throw JinjaError("macro: expected a name") }
                    try p.expect(.op("("))
                    var params: [(String, JinjaExpr?)] = []
                    while !p.accept(.op(")")) {
                        guard case .name(let param) = try p.next() else { throw JinjaError("macro: expected a parameter") }
                        params.append((param, p.accept(.op("=")) ? try p.expression() : nil))
                        _ = p.accept(.op(","))
                    }
                    let body = try parse(&pieces, until: ["endmacro"])
                    _ = try closing(&pieces)
                    nodes.append(.macro(name: name, parameters: params, body: body))
                case "generation", "endgeneration":
                    continue  // transformers' assistant-mask markers: no output
                default:
                    throw JinjaError("unsupported statement {% \(s) %}")
                }
            }
        }
        if !terminators.isEmpty { throw JinjaError("missing {% \(terminators.sorted().joined(separator: " / ")) %}") }
        return nodes
    }

    /// Consumes a closing statement and returns its keyword.
    static func closing(_ pieces: inout ArraySlice<JinjaLexer.Piece>) throws -> String {
        guard case .statement(let s)? = pieces.first, case .name(let k)? = try jinjaTokens(s).first else { throw JinjaError("missing end tag") }
        pieces.removeFirst()
        return k
    }
}
