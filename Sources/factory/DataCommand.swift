import ArgumentParser
import FactoryConfig
import FactoryData
import FactoryHost
import FactoryTokenizers
import FactoryPipeline
import Foundation

/// `factory data check config.yaml`: what the training data turns into, before any training.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Inspect training data.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts, a length histogram, rows cut by cutoff_len, and rendered samples with trained tokens marked.")
        @OptionGroup var model: ModelArguments
        @Option(help: "How many rendered samples to show.") var samples = 2

        func run() throws {
            try guarded {
                let config = try model.config()
                guard let request = config.string("model_name_or_path") else { throw ConfigProblem("no model: set model_name_or_path or --model") }
                let location = try ModelLocator.locate(request)  // once: a hub id asks pip, a Python start-up
                let (tokenizer, added) = config.tokenizer(extending: try LoadedModel.tokenizerAndTemplate(at: location).0)  // add_tokens, add_special_tokens
                if config.stage == .pt { return try checkPretraining(config, tokenizer: tokenizer) }
                guard let templateName = config.string("template") else { throw ConfigProblem("set template: the template plugin that marks what is learned") }
                let plugins = try model.pluginOptions.load(extra: config.list("plugins") ?? [])
                let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
                if try DatasetLoader.isRanking(config) { return try checkPairs(config, template: template, tokenizer: tokenizer) }
                if config.stage == .kto { return try checkFeedback(config, template: template, tokenizer: tokenizer) }
                let start = Date()  // preprocessing only: the tokenizer and the model's location are ready
                let data = try DatasetLoader.load(config, template: template, tokenizer: tokenizer,
                                                  tokenizerIdentity: VocabularyChange.identity(location.path, added: added))
                let seconds = Date().timeIntervalSince(start)
                let lengths = data.train.map(\.inputIDs.count)
                let trained = data.train.reduce(0) { $0 + $1.labels.filter { $0 != SupervisedEncoder.ignore }.count }
                print("train rows \(data.train.count), eval rows \(data.eval.count), skipped \(data.skipped), cut by cutoff_len \(data.truncated)"
                      + (data.fromCache ? " (from the tokenized cache)" : ""))
                print("tokens \(lengths.reduce(0, +)) (trained \(trained)), length min \(lengths.min() ?? 0) / mean \(lengths.isEmpty ? 0 : lengths.reduce(0, +) / lengths.count) / max \(lengths.max() ?? 0); prepared in \(String(format: "%.3f", seconds)) s")
                for p in data.problems { print("skipped: \(p)") }
                if !data.packed.isEmpty {
                    let filled = data.packed.reduce(0) { $0 + $1.attentionMask.filter { $0 != 0 }.count }
                    let capacity = data.packed.reduce(0) { $0 + $1.inputIDs.count }
                    print("packed into \(data.packed.count) rows of \(data.packed.first?.inputIDs.count ?? 0) tokens, \(capacity == 0 ? 0 : filled * 100 / capacity)% filled")
                }
                if let maxLength = lengths.max(), maxLength > 0 {
                    let width = max(1, (maxLength + 9) / 10)
                    var buckets = [Int](repeating: 0, count: 10)
                    for l in lengths { buckets[min(9, l / width)] += 1 }
                    let top = max(buckets.max() ?? 1, 1)
                    print("length histogram:")
                    for (i, n) in buckets.enumerated() {
                        print(String(format: "  %5d-%-5d %6d ", i * width, (i + 1) * width - 1, n) + String(repeating: "#", count: n * 40 / top))
                    }
                }
                for (i, example) in data.train.prefix(samples).enumerated() {
                    let origin = i < data.conversations.count ? data.conversations[i].origin : "cached row \(i + 1)"
                    print("\n--- sample \(i + 1) (\(origin)), « » marks trained tokens ---")
                    print(Check.marked(example, tokenizer))
                }
            }
        }

        /// Pre-training data: documents joined with EOS into cutoff_len blocks, every token learned.
        func checkPretraining(_ config: RunConfig, tokenizer: Tokenizer) throws {
            let data = try DatasetLoader.loadPretraining(config, tokenizer: tokenizer)
            let tokens = data.train.reduce(0) { $0 + $1.inputIDs.count }
            let cutoff = config.int("cutoff_len") ?? 2048
            let how = config.bool("packing") ?? true ? "documents joined and cut into blocks of cutoff_len \(cutoff); a shorter remainder is dropped"
                : "one document each, cut at cutoff_len \(cutoff)"
            print("stage pt: \(data.train.count) rows (\(how)), \(tokens) tokens, all learned; eval rows \(data.eval.count), skipped \(data.skipped)")
            for (i, block) in data.train.prefix(samples).enumerated() {
                print("\n--- row \(i + 1) ---")
                print(tokenizer.decode(block.inputIDs))
            }
        }

        /// Stage kto's data: examples by label, and samples of each answer with its KL example.
        func checkFeedback(_ config: RunConfig, template: ChatTemplateInstance, tokenizer: Tokenizer) throws {
            let examples = try DatasetLoader.loadFeedback(config, template: template, tokenizer: tokenizer)
            let desirable = examples.filter(\.desirable).count
            print("feedback data: \(examples.count) examples (\(desirable) desirable, \(examples.count - desirable) undesirable), for stage kto; "
                  + "each KL example is the row's prompt with the previous row's answer")
            for (i, e) in examples.prefix(samples).enumerated() {
                print("\n--- example \(i + 1) (\(e.desirable ? "desirable" : "undesirable")), « » marks trained tokens ---")
                print("answer: " + Check.marked(e.target, tokenizer))
                print("KL:     " + Check.marked(e.kl, tokenizer))
            }
        }

        /// Ranking data: pairs, their lengths, and samples of both answers.
        func checkPairs(_ config: RunConfig, template: ChatTemplateInstance, tokenizer: Tokenizer) throws {
            let data = try DatasetLoader.loadPairwise(config, template: template, tokenizer: tokenizer)
            let chosen = data.pairs.map(\.chosen.inputIDs.count), rejected = data.pairs.map(\.rejected.inputIDs.count)
            print("ranking data: \(data.pairs.count) pairs (chosen/rejected), for stage dpo")
            print("chosen tokens \(chosen.reduce(0, +)), rejected tokens \(rejected.reduce(0, +)), longest pair \(zip(chosen, rejected).map { max($0, $1) }.max() ?? 0)")
            for (i, pair) in data.pairs.prefix(samples).enumerated() {
                print("\n--- pair \(i + 1) (\(data.conversations[i].origin)), « » marks trained tokens ---")
                print("chosen:   " + Check.marked(pair.chosen, tokenizer))
                print("rejected: " + Check.marked(pair.rejected, tokenizer))
            }
        }

        /// The example's text with « » around trained tokens. Each run of tokens is decoded together, so a
        /// character whose bytes span several tokens (CJK, emoji) prints whole.
        static func marked(_ example: EncodedExample, _ tokenizer: Tokenizer) -> String {
            var out = "", run: [Int] = [], inside = false
            for (id, label) in zip(example.inputIDs, example.labels) {
                let learned = label != SupervisedEncoder.ignore
                if learned != inside {
                    out += tokenizer.decode(run) + (learned ? "«" : "»")
                    run = []
                    inside = learned
                }
                run.append(id)
            }
            return out + tokenizer.decode(run) + (inside ? "»" : "")
        }
    }
}
