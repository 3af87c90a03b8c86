// A TurnTemplate written as an Ollama template (Go's text/template over Ollama's .Messages, each with .Role
// and .Content), for the Modelfile `factory export` writes beside an export: the model then chats in Ollama
// the way it was trained. LLaMA-Factory writes the same from its template slots (_get_ollama_template);
// this form also writes the default-system rules, the system prompt folded into the first user turn, tool
// results and the generation prompt.
//
// Ollama's conventions: a system message Ollama inserted from the Modelfile's SYSTEM, or the caller's, is
// the first of .Messages; the generation prompt follows the last message unless that is an assistant's,
// which Ollama continues (written without its closing text). The BOS that opens the prefix is left out:
// Ollama's runner adds it as the model's tokenizer says. The other {bos} and {eos} of the patterns stay as
// those placeholders, which the host replaces by the tokenizer's texts. Go's text/template has no trim: a
// template that trims contents (Llama 3, Gemma) writes them as they are, and says so in a comment.

extension TurnTemplate {
    /// The Ollama form, or nil when the format has a rule written as code (as for `jinja()`).
    public func ollama() -> String? {
        guard assistantContent == nil, generationSuffix == nil, observationGroup == nil, !trimMergedUser else { return nil }
        var g = ""
        if trimContent {
            g += "{{/* the \(name) template trims each message's content; Ollama's template language cannot, so contents are written as sent */}}"
        }
        g += "{{ $system := \"\" }}{{ $has := false }}{{ $pending := false }}"
        g += "{{ if and .Messages (eq (index .Messages 0).Role \"system\") }}{{ $system = (index .Messages 0).Content }}{{ $has = true }}{{ end }}"
        switch defaultSystemRule {
        case .never: break
        case .whenAbsent: g += "{{ if not $has }}{{ $system = \(Self.goLiteral(defaultSystem)) }}{{ $has = true }}{{ end }}"
        case .whenAbsentOrEmpty:
            g += "{{ if or (not $has) (eq $system \"\") }}{{ $system = \(Self.goLiteral(defaultSystem)) }}{{ $has = ne $system \"\" }}{{ end }}"
        }
        var opening = prefix
        if opening.hasPrefix("{bos}") { opening.removeFirst("{bos}".count) }
        if !opening.isEmpty { g += "{{ if or .Messages $has }}\(Self.goText(opening)){{ end }}" }
        switch system {
        case .turn(let pattern): g += "{{ if $has }}\(Self.goPattern(pattern, content: "$system")){{ end }}"
        case .intoFirstUser: g += "{{ if $has }}{{ $pending = true }}{{ end }}"
        }
        g += "{{ range $i, $m := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}"
        g += "{{ if and (eq $i 0) (eq .Role \"system\") }}"
        g += "{{ else if eq .Role \"user\" }}"
        if case .intoFirstUser(let pattern) = system {  // the system prompt opens the first user turn's content
            let merged = Self.goPattern(pattern, content: "$system") + "{{ .Content }}"
            g += "{{ if $pending }}\(Self.goFill(user, content: merged)){{ $pending = false }}{{ else }}\(Self.goPattern(user, content: ".Content")){{ end }}"
        } else {
            g += Self.goPattern(user, content: ".Content")
        }
        g += "{{ else if eq .Role \"assistant\" }}"
        let body = assistantBody.splitting(on: "{content}")
        g += Self.goText(assistantHeader + (body.first ?? "")) + "{{ .Content }}"
        if body.count > 1 { g += "{{ if not $last }}\(Self.goText(body.dropFirst().joined(separator: "{content}"))){{ end }}" }
        g += "{{ else if eq .Role \"tool\" }}" + Self.goPattern(observation ?? user, content: ".Content")
        g += "{{ end }}"
        if !generationPrompt.isEmpty { g += "{{ if and $last (ne .Role \"assistant\") }}\(Self.goText(generationPrompt)){{ end }}" }
        g += "{{ end }}"
        return g
    }

    /// A pattern with {content} as the Go expression `content`; its text written literally.
    static func goPattern(_ pattern: String, content: String) -> String {
        goFill(pattern, content: "{{ \(content) }}")
    }

    /// A pattern with {content} as `content`, a piece of Go template; its text written literally.
    static func goFill(_ pattern: String, content: String) -> String {
        pattern.splitting(on: "{content}").map(goText).joined(separator: content)
    }

    /// Literal template text: verbatim, except "{{", which would open an action, and a last "{", which would
    /// join the action after it.
    static func goText(_ text: String) -> String {
        var out = text.splitting(on: "{{").joined(separator: "{{ \"{{\" }}")
        if out.hasSuffix("{") { out.removeLast(); out += "{{ \"{\" }}" }
        return out
    }

    /// A Go string literal holding `text` exactly.
    static func goLiteral(_ text: String) -> String { quoted(text, by: "\"") }
}
