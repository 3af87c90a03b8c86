// A TurnTemplate written as a Hugging Face chat template (Jinja), for the tokenizer an export writes: the
// model then chats with transformers (or anything reading tokenizer_config.json) the way it was trained.
// LLaMA-Factory builds the same from its template slots (Template._get_jinja_template); this form also
// writes the generation prompt, the default-system rules, trimming and tool results.
//
// The Jinja writes no text outside its tags, so no whitespace rule of a Jinja engine changes the output;
// every literal is a quoted string with \n, \\ and \' escaped. Patterns' {bos} and {eos} become the
// bos_token and eos_token variables transformers passes. A conversation with tools, or with an assistant
// message carrying tool_calls, raises an error in the Jinja: the tool format is the template's code.

extension TurnTemplate {
    /// The Jinja form, or nil when the format has a rule written as code (a rewritten assistant content, a
    /// text after the generation prompt, grouped tool results).
    public func jinja() -> String? {
        guard assistantContent == nil, generationSuffix == nil, observationGroup == nil else { return nil }
        var j = "{% set ns = namespace(system='', has_system=false, pending=false) %}"
        j += "{% if messages and messages[0]['role'] == 'system' %}{% set ns.system = messages[0]['content'] %}{% set ns.has_system = true %}"
        j += "{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}"
        switch defaultSystemRule {
        case .never: break
        case .whenAbsent:
            j += "{% if not ns.has_system %}{% set ns.system = \(Self.literal(defaultSystem)) %}{% set ns.has_system = true %}{% endif %}"
        case .whenAbsentOrEmpty:
            j += "{% if not ns.has_system or ns.system == '' %}{% set ns.system = \(Self.literal(defaultSystem)) %}"
            j += "{% set ns.has_system = ns.system != '' %}{% endif %}"
        }
        j += "{% if tools %}{{ raise_exception(\(Self.literal("the \(name) template writes tools in its own format; its Jinja form has none"))) }}{% endif %}"
        if !prefix.isEmpty { j += "{% if loop_messages or ns.has_system %}{{ \(Self.expression(prefix, content: "''")) }}{% endif %}" }
        switch system {
        case .turn(let pattern):
            j += "{% if ns.has_system %}{{ \(Self.expression(pattern, content: trimContent ? "(ns.system | trim)" : "ns.system")) }}{% endif %}"
        case .intoFirstUser:
            j += "{% if ns.has_system %}{% set ns.pending = true %}{% endif %}"
        }
        j += "{% for message in loop_messages %}"
        j += "{% set content = message['content'] if message['content'] is string else '' %}"
        if trimContent { j += "{% set content = content | trim %}" }
        j += "{% if message['role'] == 'user' %}"
        if case .intoFirstUser(let pattern) = system {
            j += "{% if ns.pending %}{% set content = \(Self.expression(pattern, content: "ns.system")) ~ content %}{% set ns.pending = false %}{% endif %}"
        }
        if trimMergedUser { j += "{% set content = content | trim %}" }
        j += "{{ \(Self.expression(user, content: "content")) }}"
        j += "{% elif message['role'] == 'assistant' %}"
        j += "{% if message['tool_calls'] %}{{ raise_exception(\(Self.literal("the \(name) template writes tool calls in its own format; its Jinja form has none"))) }}{% endif %}"
        j += "{{ \(Self.expression(assistantHeader + assistantBody, content: "content")) }}"
        j += "{% elif message['role'] == 'tool' or message['role'] == 'observation' %}"
        j += "{{ \(Self.expression(observation ?? user, content: "content")) }}"
        j += "{% else %}{{ raise_exception('a message with role ' ~ message['role'] ~ \(Self.literal(" has no place in the \(name) template"))) }}"
        j += "{% endif %}{% endfor %}"
        if !generationPrompt.isEmpty { j += "{% if add_generation_prompt %}{{ \(Self.expression(generationPrompt, content: "''")) }}{% endif %}" }
        return j
    }

    /// A pattern as a Jinja expression: its literal pieces quoted, {bos} and {eos} as bos_token and
    /// eos_token, {content} as `content`, joined with ~.
    static func expression(_ pattern: String, content: String) -> String {
        var parts: [String] = []
        for (i, piece) in pattern.splitting(on: "{content}").enumerated() {
            if i > 0 { parts.append(content) }
            for (k, bosPiece) in piece.splitting(on: "{bos}").enumerated() {
                if k > 0 { parts.append("bos_token") }
                for (m, text) in bosPiece.splitting(on: "{eos}").enumerated() {
                    if m > 0 { parts.append("eos_token") }
                    if !text.isEmpty { parts.append(literal(text)) }
                }
            }
        }
        return parts.isEmpty ? "''" : parts.joined(separator: " ~ ")
    }

    /// A Jinja string literal holding `text` exactly.
    static func literal(_ text: String) -> String { quoted(text, by: "'") }

    /// `text` between `quote`s with backslash, the quote, and \n, \r, \t escaped: a string literal of Jinja and of Go.
    static func quoted(_ text: String, by quote: Unicode.Scalar) -> String {
        var s = String(quote)
        for c in text.unicodeScalars {
            switch c {
            case "\\": s += "\\\\"
            case quote: s += "\\" + String(quote)
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default: s.unicodeScalars.append(c)
            }
        }
        return s + String(quote)
    }
}
