import FactoryJSON

// Reads a model's answer as it streams, by its template's AnswerFormat: a reasoning block that opens the
// answer (Qwen3's <think>…</think>), the content, and tool calls — each call's name as soon as it is
// written and its arguments piece by piece (OpenAI's streamed tool calls), for "tagged" and "action" calls
// whose object starts with the name; otherwise, and for "json" answers, once the call is complete. Text
// that might still become a marker is held back until it cannot. The same reader makes the whole answer
// (the events concatenated), so a streamed answer and a whole one agree.

/// An answer read piece by piece into reasoning, content and tool calls.
public struct AnswerReader {
    /// What a piece of the answer turned out to be.
    public enum Event: Equatable, Sendable {
        case reasoning(String)
        case content(String)
        /// Call `index` begins: its name.
        case callStart(index: Int, name: String)
        /// More text of call `index`'s arguments (JSON, as the model wrote it).
        case callArguments(index: Int, String)
    }

    /// A finished call: its name and arguments (the JSON text as written).
    public struct Call: Equatable, Sendable {
        public let name: String
        public var arguments: String
        public init(name: String, arguments: String) { (self.name, self.arguments) = (name, arguments) }
    }

    let format: AnswerFormat
    let readsCalls: Bool
    private enum Phase { case start, reasoning, afterReasoning, content, call, afterCall, jsonAnswer }
    private var phase: Phase = .start
    private var pending = ""  // text not yet classified
    private var object = CallObject(index: 0)
    public private(set) var reasoning = ""
    public private(set) var content = ""
    public private(set) var calls: [Call] = []
    /// Content held back at the end of the content (whitespace; dropped if a call follows).
    private var heldSpace = ""

    /// `readsCalls`: whether tool calls are read (the request gave tools and did not say tool_choice none).
    public init(format: AnswerFormat?, readsCalls: Bool) {
        self.format = format ?? AnswerFormat(toolCalls: nil, reasoning: nil)
        self.readsCalls = readsCalls && format?.toolCalls != nil
    }

    /// The events of the next piece of the answer.
    public mutating func feed(_ text: String) -> [Event] {
        pending += text
        var events: [Event] = []
        while advance(&events, final: false) {}
        return events
    }

    /// The events of what was held back, at the end of the answer.
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        while advance(&events, final: true) {}
        if !pending.isEmpty {  // an unfinished call or marker: what it was is content
            emitContent(pending, &events)
            pending = ""
        }
        if calls.isEmpty && !heldSpace.isEmpty { events.append(.content(heldSpace)); content += heldSpace }
        heldSpace = ""
        return events
    }

    // MARK: - phases

    /// One step of the phase machine; false when it needs more text.
    private mutating func advance(_ events: inout [Event], final: Bool) -> Bool {
        switch phase {
        case .start:  // an answer that opens with the reasoning marker (after whitespace) reasons first
            if let r = format.reasoning {
                let trimmed = pending.drop { $0.isWhitespace }
                if trimmed.hasPrefix(r.open) {
                    pending = String(trimmed.dropFirst(r.open.count))
                    phase = .reasoning
                    return true
                }
                if !final && r.open.hasPrefix(trimmed) { return false }  // may still become the marker (or nothing yet)
            }
            phase = .content
            return true
        case .reasoning:
            let close = format.reasoning!.close
            if let range = pending.range(of: close) {
                var text = String(pending[..<range.lowerBound])
                if reasoning.isEmpty { text = String(text.drop { $0 == "\n" }) }
                text = String(text.reversed().drop { $0 == "\n" }.reversed())
                if !text.isEmpty { events.append(.reasoning(text)); reasoning += text }
                pending = String(pending[range.upperBound...])
                phase = .afterReasoning
                return true
            }
            // hold back a possible start of the marker and trailing newlines (dropped before the marker)
            var keep = Self.partialSuffix(pending, of: close)
            while keep < pending.count && pending.dropLast(keep).last == "\n" { keep += 1 }
            var text = String(pending.dropLast(keep))
            if reasoning.isEmpty { text = String(text.drop { $0 == "\n" }) }
            if !text.isEmpty { events.append(.reasoning(text)); reasoning += text }
            pending = String(pending.suffix(keep))
            if reasoning.isEmpty && pending.allSatisfy({ $0 == "\n" }) && !final { pending = "" }
            return false
        case .afterReasoning:  // the newlines between the reasoning and the answer belong to neither
            pending = String(pending.drop { $0 == "\n" })
            if pending.isEmpty && !final { return false }
            phase = .content
            return true
        case .content:
            guard readsCalls, let t = format.toolCalls else {
                emitContent(pending, &events)
                pending = ""
                return false
            }
            if t.style == .json {
                if content.isEmpty && heldSpace.isEmpty {
                    let trimmed = pending.drop { $0.isWhitespace }
                    if trimmed.isEmpty && !final { return false }
                    let afterPrefix = trimmed.hasPrefix(t.prefix) ? trimmed.dropFirst(t.prefix.count).drop { $0.isWhitespace } : nil
                    if let rest = afterPrefix, rest.first == "{" || rest.first == "[" { phase = .jsonAnswer; return true }
                    if !final && (t.prefix.hasPrefix(trimmed) || (afterPrefix?.isEmpty ?? false)) { return false }
                }
                emitContent(pending, &events)
                pending = ""
                return false
            }
            let marker = t.marker
            if let range = pending.range(of: marker) {
                emitContent(String(pending[..<range.lowerBound]), &events)
                pending = String(pending[range.upperBound...])
                object = CallObject(index: calls.count)
                phase = .call
                return true
            }
            let keep = Self.partialSuffix(pending, of: marker)
            emitContent(String(pending.dropLast(keep)), &events)
            pending = String(pending.suffix(keep))
            return false
        case .call:
            let t = format.toolCalls!
            guard object.read(&pending, style: t.style, keys: (t.nameKey, t.argumentsKey), events: &events, calls: &calls) else {
                if final, object.failed || !object.streamed {  // never completed: the text is content
                    emitContent(t.marker + object.text, &events)
                    object = CallObject(index: calls.count)
                }
                return false
            }
            if object.failed {  // not a call after all: its text is content
                emitContent(t.marker + object.text, &events)
                object = CallObject(index: calls.count)
                phase = .content
                return true
            }
            phase = .afterCall
            return true
        case .afterCall:
            let t = format.toolCalls!
            let trimmed = pending.drop { $0.isWhitespace }
            if t.style == .tagged && trimmed.hasPrefix(t.close) {
                pending = String(trimmed.dropFirst(t.close.count))
                return true
            }
            let marker = t.marker
            if trimmed.hasPrefix(marker) {
                pending = String(trimmed.dropFirst(marker.count))
                object = CallObject(index: calls.count)
                phase = .call
                return true
            }
            if !final && (trimmed.isEmpty || marker.hasPrefix(trimmed) || (t.style == .tagged && t.close.hasPrefix(trimmed))) { return false }
            pending = String(trimmed)
            phase = .content
            return !pending.isEmpty
        case .jsonAnswer:
            guard final else { return false }  // read whole: one object or a list, at the end
            let t = format.toolCalls!
            var text = pending.drop { $0.isWhitespace }
            if text.hasPrefix(t.prefix) { text = text.dropFirst(t.prefix.count) }
            let parsed = try? JSON.parse(String(text))
            let objects = parsed.map { $0.arrayValue ?? [$0] } ?? []
            let found = objects.compactMap { o -> Call? in
                guard let name = o[t.nameKey]?.stringValue, let arguments = o[t.argumentsKey] else { return nil }
                return Call(name: name, arguments: arguments.spacedLine())
            }
            if parsed == nil || found.isEmpty || found.count != objects.count {
                emitContent(pending, &events)
            } else {
                for call in found {
                    events.append(.callStart(index: calls.count, name: call.name))
                    events.append(.callArguments(index: calls.count, call.arguments))
                    calls.append(call)
                }
            }
            pending = ""
            phase = .content
            return false
        }
    }

    /// Content, with trailing whitespace held back (a call that follows drops it).
    private mutating func emitContent(_ text: String, _ events: inout [Event]) {
        guard !text.isEmpty else { return }
        let all = heldSpace + text
        let body = String(all.reversed().drop { $0.isWhitespace }.reversed())
        heldSpace = String(all.dropFirst(body.count))
        if !body.isEmpty { events.append(.content(body)); content += body }
    }

    /// The length of the longest suffix of `text` that is a proper prefix of `marker`.
    static func partialSuffix(_ text: String, of marker: String) -> Int {
        var n = min(marker.count - 1, text.count)
        while n > 0 {
            if marker.hasPrefix(text.suffix(n)) { return n }
            n -= 1
        }
        return 0
    }
}

/// One call being read: "tagged" — a JSON object {"name": …, "arguments": …}; "action" — "NAME\nAction Input:
/// JSON". The name is told as soon as it is complete, the arguments as they come when the object starts with
/// the name; otherwise the call is told when complete.
struct CallObject {
    /// The call's place among the answer's calls.
    let index: Int
    /// The call's text so far (after the opening marker).
    private(set) var text = ""
    private var scalars: [Unicode.Scalar] = []
    /// The call's own JSON: nesting, strings.
    private var depth = 0, inString = false, escaped = false, opened = false
    private var name: String?
    /// The call does not start with its name: it is read whole, and the name is not looked for again.
    private var readsWhole = false
    /// The arguments' value: where it starts and ends (scalar indices), and the scan of it.
    private var argumentsStart: Int?, argumentsEnd: Int?
    private var checked = 0, valueDepth = 0, valueInString = false, valueEscaped = false
    private var sent = 0  // scalars of the arguments already told
    /// The name was told (and the arguments stream).
    private(set) var streamed = false
    /// The text is not a call.
    private(set) var failed = false

    /// Reads from `pending` up to the end of the call; true when the call is complete (or `failed`).
    init(index: Int) { self.index = index }

    mutating func read(_ pending: inout String, style: AnswerFormat.ToolCalls.Style, keys: (name: String, arguments: String),
                       events: inout [AnswerReader.Event], calls: inout [AnswerReader.Call]) -> Bool {
        var used = 0, ended = false
        for s in pending.unicodeScalars {
            used += 1
            scalars.append(s)
            if ends(s) { ended = true; break }
            if failed { break }
        }
        text += String(String.UnicodeScalarView(pending.unicodeScalars.prefix(used)))
        pending = String(String.UnicodeScalarView(pending.unicodeScalars.dropFirst(used)))
        if failed { return true }
        if name == nil && !readsWhole { findName(style: style, keys: keys) }
        if failed { return true }
        if argumentsStart != nil { scanValue(style: style) }
        if let name, !streamed {
            streamed = true
            events.append(.callStart(index: index, name: name))
            calls.append(AnswerReader.Call(name: name, arguments: ""))
        }
        if streamed, let start = argumentsStart {
            var stop = argumentsEnd ?? scalars.count
            while stop > start + sent, scalars[stop - 1].properties.isWhitespace { stop -= 1 }  // held until more follows
            if stop > start + sent {
                let piece = String(String.UnicodeScalarView(scalars[(start + sent)..<stop]))
                sent = stop - start
                events.append(.callArguments(index: index, piece))
                calls[index].arguments += piece
            }
        }
        guard ended else { return false }
        if !streamed { readWhole(style: style, keys: keys, index: index, events: &events, calls: &calls) }
        return true
    }

    /// Whether `s` closes the call's JSON (the object, or the action's input value).
    private mutating func ends(_ s: Unicode.Scalar) -> Bool {
        if inString {
            if escaped { escaped = false } else if s == "\\" { escaped = true } else if s == "\"" { inString = false }
            return false
        }
        switch s {
        case "\"": inString = true
        case "{", "[": depth += 1; opened = true
        case "}", "]":
            depth -= 1
            if depth < 0 { failed = true; return false }
            return depth == 0 && opened
        default: break
        }
        return false
    }

    /// Finds where the arguments' value ends: before the "," or "}" that follows it in the call object
    /// (tagged), or after its closing bracket (action).
    private mutating func scanValue(style: AnswerFormat.ToolCalls.Style) {
        guard let start = argumentsStart, argumentsEnd == nil else { return }
        var k = max(checked, start)
        while k < scalars.count, argumentsEnd == nil {
            let s = scalars[k]
            if valueInString {
                if valueEscaped { valueEscaped = false } else if s == "\\" { valueEscaped = true } else if s == "\"" { valueInString = false }
            } else {
                switch s {
                case "\"": valueInString = true
                case "{", "[": valueDepth += 1
                case "}", "]":
                    if valueDepth == 0 { argumentsEnd = k } else {
                        valueDepth -= 1
                        if valueDepth == 0 && style == .action { argumentsEnd = k + 1 }
                    }
                case ",": if valueDepth == 0 && style == .tagged { argumentsEnd = k }
                default: break
                }
            }
            k += 1
        }
        checked = k
    }

    /// Finds the name, and where the arguments start, when the call begins with the name.
    private mutating func findName(style: AnswerFormat.ToolCalls.Style, keys: (name: String, arguments: String)) {
        var i = 0
        let n = scalars.count
        func skipSpace() { while i < n, scalars[i].properties.isWhitespace { i += 1 } }
        func expect(_ literal: String) -> Bool? {  // nil: not enough text yet
            for c in literal.unicodeScalars {
                guard i < n else { return nil }
                guard scalars[i] == c else { return false }
                i += 1
            }
            return true
        }
        func string() -> String?? {  // a JSON string literal: nil = not complete yet, .some(nil) = not a string
            guard i < n else { return nil }
            guard scalars[i] == "\"" else { return .some(nil) }
            var j = i + 1, escaped = false
            while j < n {
                if escaped { escaped = false } else if scalars[j] == "\\" { escaped = true } else if scalars[j] == "\"" { break }
                j += 1
            }
            guard j < n else { return nil }
            let literal = String(String.UnicodeScalarView(scalars[i...j]))
            i = j + 1
            return .some((try? JSON.parse(literal))?.stringValue)
        }
        switch style {
        case .action:  // " NAME\nAction Input: VALUE"
            skipSpace()
            let first = i
            while i < n, scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) || scalars[i] == "_" { i += 1 }
            guard i < n else { return }
            guard i > first else { failed = true; return }
            let word = String(String.UnicodeScalarView(scalars[first..<i]))
            skipSpace()
            guard let input = expect("Action Input:") else { return }
            guard input else { failed = true; return }
            skipSpace()
            guard i < n else { return }
            guard scalars[i] == "{" || scalars[i] == "[" else { failed = true; return }
            (name, argumentsStart) = (word, i)
        default:  // {"NAME_KEY": "NAME", "ARGUMENTS_KEY": VALUE …}; anything else is read whole
            skipSpace()
            guard let open = expect("{") else { return }
            guard open else { failed = true; return }
            skipSpace()
            // nil: wait for more text; false: not this shape, read the call whole
            func step(_ found: Bool?) -> Bool { if found == false { readsWhole = true }; return found == true }
            guard step(string().map { $0 == keys.name }) else { return }
            skipSpace()
            guard step(expect(":")) else { return }
            skipSpace()
            guard let value = string() else { return }
            guard let word = value else { readsWhole = true; return }
            skipSpace()
            guard step(expect(",")) else { return }
            skipSpace()
            guard step(string().map { $0 == keys.arguments }) else { return }
            skipSpace()
            guard step(expect(":")) else { return }
            skipSpace()
            guard i < n else { return }
            (name, argumentsStart) = (word, i)
        }
    }

    /// A call that did not start with its name, complete: its name and arguments from the parsed object.
    private mutating func readWhole(style: AnswerFormat.ToolCalls.Style, keys: (name: String, arguments: String), index: Int,
                                    events: inout [AnswerReader.Event], calls: inout [AnswerReader.Call]) {
        let source = String(String.UnicodeScalarView(scalars))
        guard style == .tagged, let object = try? JSON.parse(source), let name = object[keys.name]?.stringValue, let arguments = object[keys.arguments] else {
            failed = true
            return
        }
        events.append(.callStart(index: index, name: name))
        events.append(.callArguments(index: index, arguments.spacedLine()))
        calls.append(AnswerReader.Call(name: name, arguments: arguments.spacedLine()))
    }
}

extension AnswerFormat.ToolCalls {
    /// The text that opens a call: the open tag, or "Action:".
    var marker: String { style == .tagged ? open : "Action:" }
}

extension String {
    /// The first occurrence of `marker` (FactoryHost has no Foundation).
    fileprivate func range(of marker: String) -> Range<String.Index>? {
        guard !marker.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(marker) { return i..<index(i, offsetBy: marker.count) }
            i = index(after: i)
        }
        return nil
    }
}
