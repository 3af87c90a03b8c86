import ArgumentParser
import FactoryExport
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTokenizers
import Foundation

/// `factory template render`: what a template makes of a conversation, token by token.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "template", abstract: "Inspect chat templates.", subcommands: [Render.self, Check.self, Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a template plugin declares: its default system prompt, stop words, and its Jinja and Ollama forms (what an export writes; with --model, the Ollama form as an export of that model writes it).")
        @OptionGroup var model: ModelArguments
        @Option(help: "The chat template plugin.") var template: String
        @Flag(help: "Machine-readable output: {\"name\", \"default_system\", \"stop_words\", \"jinja\", \"ollama\"} (null: no such form).") var json = false

        func run() throws {
            try guarded {
                let config = try model.config()
                let plugins = try model.pluginOptions.load(extra: config.list("plugins") ?? [])
                let instance = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(template))
                let (defaultSystem, stopWords) = try instance.declaration()
                let jinja = try instance.jinjaTemplate()
                var ollama = try instance.ollamaTemplate()
                if let form = ollama, let request = config.string("model_name_or_path") {  // as an export with this model writes it
                    switch OllamaModelfile.filled(form, tokenizer: try LoadedModel.tokenizer(for: request)) {
                    case .success(let text): ollama = text
                    case .failure(let missing): throw ConfigProblem("\(request): its tokenizer names no \(missing.token) token, which the \(template) template's Ollama form writes")
                    }
                }
                if json {
                    print(JSON.object(JSONObject([
                        ("name", .string(template)), ("default_system", .string(defaultSystem)), ("stop_words", .array(stopWords.map { .string($0) })),
                        ("jinja", jinja.map { .string($0) } ?? .null), ("ollama", ollama.map { .string($0) } ?? .null),
                    ])).serialized())
                    return
                }
                print("template \(template)\ndefault system: \(defaultSystem.debugDescription)\nstop words: \(stopWords.map(\.debugDescription).joined(separator: " "))")
                print("\nJinja form (tokenizer_config.json chat_template):\n\(jinja ?? "none")")
                print("\nOllama form (Modelfile TEMPLATE; {bos} and {eos} become the tokenizer's texts, --model's when given):\n\(ollama ?? "none")")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a set of conversations with a template plugin and with the model's own chat template; print a token-level diff.")
        @OptionGroup var model: ModelArguments
        @Option(help: "The chat template plugin to check.") var template: String

        func run() throws {
            try guarded {
                let config = try model.config()
                guard let request = config.string("model_name_or_path") else { throw ConfigProblem("no model: pass --model PATH") }
                let plugins = try model.pluginOptions.load(extra: config.list("plugins") ?? [])
                let instance = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(template))
                let (tokenizer, source) = try LoadedModel.tokenizerAndTemplate(for: request)
                guard let source else { throw ConfigProblem("\(request) carries no chat template to check against") }
                let results = try TemplateCheck.run(plugin: instance, modelTemplate: source, tokenizer: tokenizer)
                for r in results {
                    guard let at = r.firstDifference else { print("SAME \(r.name) (\(r.modelIDs.count) tokens)"); continue }
                    func around(_ ids: [Int]) -> String {
                        let lo = max(0, at - 3), hi = min(ids.count, at + 4)
                        return tokenizer.tokens(Array(ids[lo..<hi])).map { $0.debugDescription }.joined(separator: " ")
                    }
                    print("DIFF \(r.name): first difference at token \(at)")
                    print("  plugin \(template): \(around(r.pluginIDs))")
                    print("  model template:  \(around(r.modelIDs))")
                }
                let bad = results.filter { !$0.matches }.count
                print("\(template) vs the model's template: \(results.count - bad) same, \(bad) different")
                if bad > 0 { throw ExitCode(1) }
            }
        }
    }

    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render an OpenAI-style message list with a template plugin: text, token ids, and which tokens are trained.")
        @OptionGroup var model: ModelArguments
        @Option(help: "The chat template plugin.") var template: String
        @Option(help: "A JSON file holding [{\"role\": ..., \"content\": ...}, ...].") var messages: String
        @Flag(name: .customLong("add-generation-prompt"), help: "End with the assistant's generation prompt.") var addGenerationPrompt = false
        @Flag(help: "Machine-readable output: {\"text\", \"ids\", \"trainable\"}.") var json = false

        func run() throws {
            try guarded {
                let config = try model.config()
                let plugins = try model.pluginOptions.load(extra: config.list("plugins") ?? [])
                let instance = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(template))
                guard let data = FileManager.default.contents(atPath: messages) else { throw ConfigProblem("\(messages): cannot be read") }
                let list: JSON
                do { list = try JSON.parse(bytes: [UInt8](data)) } catch { throw ConfigProblem("\(messages): \(error)") }
                let tokenizer = try config.string("model_name_or_path").map { try LoadedModel.tokenizer(for: $0) }
                let bos = tokenizer?.bosID.map { tokenizer!.decode([$0]) } ?? "", eos = tokenizer?.eosID.map { tokenizer!.decode([$0]) } ?? ""
                let options = JSON.object(JSONObject([("add_generation_prompt", .bool(addGenerationPrompt)), ("bos_token", .string(bos)), ("eos_token", .string(eos))]))
                let segments = try instance.render(messagesJSON: list.serialized(), optionsJSON: options.serialized())
                let text = segments.map(\.text).joined()
                var ids: [Int] = [], trainable: [Bool] = []
                if let tokenizer {
                    for s in segments {
                        let piece = try tokenizer.encode(s.text)
                        ids += piece
                        trainable += Array(repeating: s.trainable, count: piece.count)
                    }
                }
                if json {
                    var o = JSONObject([("text", .string(text))])
                    if tokenizer != nil {
                        o["ids"] = .array(ids.map { .int(Int64($0)) })
                        o["trainable"] = .array(trainable.map { .bool($0) })
                    }
                    print(JSON.object(o).serialized())
                    return
                }
                print(segments.map { $0.trainable ? "«" + $0.text + "»" : $0.text }.joined())
                if tokenizer != nil { print("\n\(ids.count) tokens, \(trainable.filter { $0 }.count) trained (« » marks trained text)") }
            }
        }
    }
}
