/// Splits a template into text, {{ expression }} and {% statement %} pieces,
/// applying whitespace control the way transformers' chat templates expect
/// (Environment(trim_blocks=True, lstrip_blocks=True), plus "-" modifiers).
enum JinjaLexer {
    enum Piece {
        case text(String)
        case expression(String)
        case statement(String)
    }

    static func split(_ template: String) throws -> [Piece] {
        var pieces: [Piece] = []
        let chars = Array(template)
        var i = 0
        var text = ""
        var trimNextNewline = false
        var stripNextWhitespace = false
        func flushText() {
            if !text.isEmpty { pieces.append(.text(text)) }
            text = ""
        }
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" || chars[i + 1] == "%" || chars[i + 1] == "#" {
                let kind = chars[i + 1]
                let close: Character = kind == "{" ? "}" : (kind == "%" ? "%" : "#")
                var j = i + 2
                var stripBefore = false, keepBefore = false
                if j < chars.count && chars[j] == "-" { stripBefore = true; j += 1 } else if j < chars.count && chars[j] == "+" { keepBefore = true; j += 1 }
                // find the closing "}}" / "%}" / "#}", skipping quoted strings inside expressions
                var k = j
                var quote: Character?
                while k + 1 < chars.count {
                    if let q = quote {
                        if chars[k] == "\\" { k += 2; continue }
                        if chars[k] == q { quote = nil }
                    } else if kind != "#" && (chars[k] == "'" || chars[k] == "\"") {
                        quote = chars[k]
                    } else if chars[k] == close && chars[k + 1] == "}" {
                        break
                    }
                    k += 1
                }
                guard k + 1 < chars.count else { throw JinjaError("unclosed {\(kind) at character \(i)") }
                var end = k
                var stripAfter = false
                if end > j && chars[end - 1] == "-" { stripAfter = true; end -= 1 }
                let inner = String(chars[j..<max(j, end)])
                // whitespace before the tag
                if stripBefore {
                    while let last = text.last, last.isWhitespace { text.removeLast() }
                } else if kind != "{" && !keepBefore {
                    // lstrip_blocks: in the source, only spaces/tabs stand between the line start and the tag
                    var b = i - 1
                    while b >= 0 && (chars[b] == " " || chars[b] == "\t") { b -= 1 }
                    if b < 0 || chars[b] == "\n" {
                        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
                    }
                }
                flushText()
                switch kind {
                case "{": pieces.append(.expression(inner))
                case "%": pieces.append(.statement(inner.trimmingWhitespace()))
                default: break
                }
                i = k + 2
                stripNextWhitespace = stripAfter
                trimNextNewline = kind != "{" && !stripAfter
                continue
            }
            if stripNextWhitespace {
                if chars[i].isWhitespace { i += 1; continue }
                stripNextWhitespace = false
            }
            if trimNextNewline {
                trimNextNewline = false
                if chars[i] == "\n" { i += 1; continue }
                if chars[i] == "\r\n" { i += 1; continue }
            }
            text.append(chars[i])
            i += 1
        }
        flushText()
        return pieces
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
