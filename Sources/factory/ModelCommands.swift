import ArgumentParser
import FactoryConfig
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTokenizers
import FactoryTraining
import Foundation

/// `factory tokenize --text TEXT [--json]`.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Token ids and token strings of a text, with the model's tokenizer.")
    @OptionGroup var model: ModelArguments
    @Option(help: "The text to tokenize.") var text: String
    @Flag(help: "Parse special-token strings as text (split_special_tokens).") var splitSpecial = false
    @Flag(name: .customLong("no-special-tokens"), help: "Without the tokenizer's BOS/EOS around the text (add_special_tokens=False).")
    var noSpecialTokens = false
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        try guarded {
            let config = try model.config()
            guard let request = config.string("model_name_or_path") else { throw ConfigProblem("no model: pass --model PATH") }
            let tokenizer = config.tokenizer(extending: try LoadedModel.tokenizer(for: request)).0  // add_tokens, add_special_tokens
            let ids = try tokenizer.encode(text, splitSpecial: splitSpecial, addSpecialTokens: !noSpecialTokens)
            let tokens = tokenizer.tokens(ids)
            if json {
                print(JSON.object(JSONObject([("ids", .array(ids.map { .int(Int64($0)) })), ("tokens", .array(tokens.map { .string($0) }))])).serialized())
            } else {
                for (id, token) in zip(ids, tokens) { print("\(id)\t\(token)") }
            }
        }
    }
}

/// `factory generate --prompt TEXT | --ids 1,2,3`.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One completion of a raw prompt (no chat template), streamed.")
    @OptionGroup var model: ModelArguments
    @Option(help: "The prompt text.") var prompt: String?
    @Option(help: "The prompt as token ids, comma-separated.") var ids: String?
    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional, help: "Tokens to generate (max_new_tokens).") var maxNewTokens: String?
    @Flag(help: "Greedy decoding (do_sample: false).") var greedy = false
    @Flag(name: .customLong("ignore-eos"), help: "Keep going past EOS.") var ignoreEOS = false
    @Flag(help: "Print {\"ids\": [...], \"text\": ...} at the end instead of streaming.") var json = false

    func run() throws {
        try guarded {
            // the flag is checked as the key it stands for (a negative number is a value, refused by range)
            let flags = maxNewTokens.map { [RunConfig.Flag(key: "max_new_tokens", text: $0, origin: "--max-new-tokens")] } ?? []
            let (config, loaded, _) = try model.load(flags: flags)
            let promptIDs: [Int]
            switch (prompt, ids) {
            case (let p?, nil): promptIDs = try loaded.tokenizer.encode(p, addSpecialTokens: true)
            case (nil, let i?): promptIDs = try parseIDs(i)
            default: throw ConfigProblem("give exactly one of --prompt and --ids")
            }
            if let bad = promptIDs.first(where: { $0 >= loaded.vocabularySize }) { throw ConfigProblem("--ids: \(bad) is outside the vocabulary of \(loaded.vocabularySize)") }
            var options = SamplingOptions(config)
            if greedy { options.doSample = false }
            options.ignoreEOS = ignoreEOS
            let out = try Generator(model: loaded).generate(prompt: promptIDs, options: options, stopIDs: loaded.stopIDs) { _, text in
                if !json { FileHandle.standardOutput.write(Data(text.utf8)) }
                return true
            }
            if json {
                print(JSON.object(JSONObject([("ids", .array(out.map { .int(Int64($0)) })), ("text", .string(loaded.tokenizer.decode(out)))])).serialized())
            } else {
                print("")
            }
        }
    }
}

/// `factory score --text TEXT | --ids 1,2,3`: per-token log-probs and the mean loss.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log-probabilities of each next token and the mean loss (perplexity = exp(loss)).")
    @OptionGroup var model: ModelArguments
    @Option(help: "The text to score.") var text: String?
    @Option(help: "Token ids, comma-separated.") var ids: String?
    @Option(name: .customLong("dump-logits"), help: "Also write the logits to FILE: raw little-endian float32, [tokens, vocab], one row per position.")
    var dumpLogits: String?
    @Option(help: "Perplexity over datasets (names from dataset_dir's dataset_info.json, comma-separated): each row rendered with the config's template, only its learned tokens scored (as the training loss counts them).")
    var dataset: String?
    @Flag(help: "The reward of the text under a reward model (stage rm's value_head.safetensors beside the adapter or weights) instead of its log-probabilities; the text is tokenized as LLaMA-Factory's reward API does, without special tokens.")
    var reward = false
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        try guarded {
            let (config, loaded, plugins) = try model.load(flags: dataset.map { [RunConfig.Flag(key: "dataset", text: $0, origin: "--dataset")] } ?? [])
            if dataset != nil {
                guard text == nil, ids == nil, !reward, dumpLogits == nil else { throw ConfigProblem("--dataset scores whole datasets: leave out --text, --ids, --reward and --dump-logits") }
                return try scoreDatasets(config, loaded, plugins)
            }
            if reward {
                let head = try ValueHead.forScoring(config, model: loaded)
                let tokens: [Int]
                switch (text, ids) {
                case (let t?, nil): tokens = try loaded.tokenizer.encode(t, addSpecialTokens: false)
                case (nil, let i?): tokens = try parseIDs(i)
                default: throw ConfigProblem("give exactly one of --text and --ids")
                }
                if let bad = tokens.first(where: { $0 >= loaded.vocabularySize }) { throw ConfigProblem("--ids: \(bad) is outside the vocabulary of \(loaded.vocabularySize)") }
                let value = try head.reward(of: tokens, model: loaded)
                print(json ? JSON.object(JSONObject([("reward", .double(Double(value)))])).serialized() : "reward \(value)")
                return
            }
            let tokens: [Int]
            switch (text, ids) {
            case (let t?, nil): tokens = try loaded.tokenizer.encode(t, addSpecialTokens: true)
            case (nil, let i?): tokens = try parseIDs(i)
            default: throw ConfigProblem("give exactly one of --text and --ids")
            }
            guard tokens.count >= 2 else { throw ConfigProblem("scoring needs at least two tokens, got \(tokens.count)") }
            if loaded.contextLength > 0 && tokens.count > loaded.contextLength {
                throw ConfigProblem("the text has \(tokens.count) tokens, the model's context is \(loaded.contextLength): shorten it")
            }
            if let bad = tokens.first(where: { $0 >= loaded.vocabularySize }) { throw ConfigProblem("--ids: \(bad) is outside the vocabulary of \(loaded.vocabularySize)") }
            let logits = try loaded.logits(tokens)
            if let dumpLogits {  // x86-64 and arm64 are little-endian: the floats' own bytes
                let bytes = logits.values.withUnsafeBytes { Data($0) }
                do { try bytes.write(to: URL(fileURLWithPath: dumpLogits), options: .atomic) } catch {
                    throw ConfigProblem("--dump-logits: cannot write \(dumpLogits): \(error.localizedDescription)")
                }
                printError("logits [\(tokens.count), \(logits.shape[1])] float32 → \(dumpLogits)")
            }
            let (logprobs, loss) = try loaded.score(tokens, logits: logits)
            if json {
                print(JSON.object(JSONObject([("loss", .double(loss)), ("logprobs", .array(logprobs.map { .double($0) }))])).serialized())
            } else {
                let pieces = loaded.tokenizer.tokens(tokens)
                for i in 0..<logprobs.count { print("\(pieces[i + 1])\t\(logprobs[i])") }
                print("loss \(loss)  perplexity \(exp(loss))")
            }
        }
    }

    /// The perplexity of the config's datasets: every row encoded as training encodes it (template, cutoff_len,
    /// train_on_prompt, mask_history), its learned tokens scored; the mean negative log-likelihood over all of
    /// them (as the training loss averages), streamed row by row on stderr.
    func scoreDatasets(_ config: RunConfig, _ loaded: LoadedModel, _ plugins: PluginSet) throws {
        guard let templateName = config.string("template") else { throw ConfigProblem("--dataset: set template (the template plugin that marks the learned tokens)") }
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
        let data = try DatasetLoader.load(config, template: template, tokenizer: loaded.tokenizer)
        let examples = data.train + data.eval
        var nll = 0.0, tokens = 0
        let started = Date()
        for (i, e) in examples.enumerated() {
            if loaded.contextLength > 0 && e.inputIDs.count > loaded.contextLength {
                throw ConfigProblem("--dataset: row \(i + 1) has \(e.inputIDs.count) tokens, the model's context is \(loaded.contextLength); lower cutoff_len")
            }
            let (logprobs, _) = try loaded.score(e.inputIDs, logits: try loaded.logits(e.inputIDs))
            for t in logprobs.indices where e.labels[t + 1] != -100 {
                nll -= logprobs[t]
                tokens += 1
            }
            FileHandle.standardError.write(Data(String(format: "\rscored %d/%d rows, %d tokens, perplexity %.4f, %.1f rows/s", i + 1, examples.count, tokens,
                                                       exp(nll / Double(max(tokens, 1))), Double(i + 1) / max(Date().timeIntervalSince(started), 1e-9)).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        guard tokens > 0 else { throw ConfigProblem("--dataset: no learned tokens to score (every label is masked)") }
        let loss = nll / Double(tokens)
        if json {
            print(JSON.object(JSONObject([("rows", .int(Int64(examples.count))), ("tokens", .int(Int64(tokens))), ("loss", .double(loss)),
                                          ("perplexity", .double(exp(loss)))])).serialized())
        } else {
            print("rows \(examples.count)  tokens \(tokens)  loss \(loss)  perplexity \(exp(loss))")
        }
    }
}
