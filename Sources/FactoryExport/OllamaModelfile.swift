// The Ollama Modelfile an export writes beside its weights (`ollama create NAME -f Modelfile`), as
// LLaMA-Factory writes one into its exports: FROM the export (".", "./model.gguf", or the base model with
// ADAPTER ./adapter.gguf), TEMPLATE the chat template the model was trained with in Ollama's template
// language (the template plugin's Ollama form, ABI 1.7, with {bos} and {eos} written as the tokenizer's
// texts), SYSTEM its default system prompt, and PARAMETER stop for its stop words and the EOS text.
import FactoryHost
import FactoryPipeline
import FactoryTokenizers
import Foundation

public enum OllamaModelfile {
    static let header = "# Ollama Modelfile written by factory export"

    /// A token an Ollama form needs and the tokenizer does not name.
    public struct MissingToken: Error { public let token: String }

    /// `form` (a template plugin's Ollama form) with {bos} and {eos} written as the tokenizer's texts.
    public static func filled(_ form: String, tokenizer: Tokenizer) -> Result<String, MissingToken> {
        var text = form
        for (placeholder, id, token) in [("{bos}", tokenizer.bosID, "BOS"), ("{eos}", tokenizer.eosID, "EOS")] where text.contains(placeholder) {
            guard let id else { return .failure(MissingToken(token: token)) }
            text = text.replacingOccurrences(of: placeholder, with: tokenizer.decode([id]))
        }
        return .success(text)
    }

    /// Removes a Modelfile an earlier export wrote into `directory` (one that starts with this header), so an
    /// export that writes none leaves none describing other weights.
    static func removeEarlier(in directory: String) {
        let path = directory + "/Modelfile"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasPrefix(header) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The Modelfile for `model` exported with the template named `templateName`, FROM `from` (plus ADAPTER
    /// `adapter`); nil with the reason when there is none to write.
    static func text(templateName: String?, plugins: PluginSet, model: LoadedModel, from: String, adapter: String? = nil) throws -> (text: String?, note: String) {
        guard let templateName else {
            return (nil, "no Ollama Modelfile: set template (the chat template the model was trained with) to write one")
        }
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
        guard var goTemplate = try template.ollamaTemplate() else {
            return (nil, "no Ollama Modelfile: the \(templateName) template has no Ollama form")
        }
        let eos = model.tokenizer.eosID.map { model.tokenizer.decode([$0]) } ?? ""
        switch filled(goTemplate, tokenizer: model.tokenizer) {
        case .success(let text): goTemplate = text
        case .failure(let missing): return (nil, "no Ollama Modelfile: the \(templateName) template writes the \(missing.token) token, which the model's tokenizer does not name")
        }
        let (defaultSystem, stopWords) = try template.declaration()
        for (what, text) in [("TEMPLATE", goTemplate), ("SYSTEM", defaultSystem)] where text.contains("\"\"\"") {
            return (nil, "no Ollama Modelfile: the \(templateName) template's \(what) holds \"\"\", which a Modelfile cannot quote")
        }
        var lines = [header + ": ollama create NAME -f Modelfile",
                     "# chat template: \(templateName), the template the model was trained with", "FROM \(from)"]
        if let adapter { lines.append("ADAPTER \(adapter)") }
        lines.append("TEMPLATE \"\"\"\(goTemplate)\"\"\"")
        if !defaultSystem.isEmpty { lines.append("SYSTEM \"\"\"\(defaultSystem)\"\"\"") }
        var stops: [String] = []
        for word in stopWords + [eos] where !word.isEmpty && !stops.contains(word) { stops.append(word) }
        var skipped: [String] = []
        for word in stops {
            if word.contains("\"") || word.contains("\n") || word.contains("\\") { skipped.append(word); continue }
            lines.append("PARAMETER stop \"\(word)\"")
        }
        let note = "Ollama Modelfile: the \(templateName) template" + (stops.isEmpty ? "" : ", stop \(stops.filter { !skipped.contains($0) }.joined(separator: " "))")
            + (skipped.isEmpty ? "" : " (left out, a Modelfile cannot quote them: \(skipped.map { "\($0.debugDescription)" }.joined(separator: ", ")))")
        return (lines.joined(separator: "\n") + "\n", note)
    }
}
