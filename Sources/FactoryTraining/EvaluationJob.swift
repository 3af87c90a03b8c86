// `factory run` that evaluates or predicts without training (RunConfig.isEvaluationOnly): LLaMA-Factory's
// do_eval and do_predict + predict_with_generate for stage sft, over eval_dataset (or the val_size part
// of dataset), with the results written as the Hugging Face Trainer and LLaMA-Factory write them.
import FactoryConfig
import FactoryData
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

public enum EvaluationJob {
    /// Rows the generation decodes together at most (per_device_eval_batch_size above it only groups).
    public static let maxPredictionRows = 64

    /// Runs do_eval, then do_predict, on `model` (its adapter already applied), writing into output_dir.
    public static func run(_ config: RunConfig, model: LoadedModel, plugins: PluginSet, print: @escaping (String) -> Void = { Swift.print($0) }) throws {
        let templateName = try check(config)
        let outputDir = self.outputDir(config)
        let output = try OutputDirectory(locking: outputDir)
        defer { withExtendedLifetime(output) {} }
        let removed = output.removeLeftovers()
        if !removed.isEmpty { print("removed what an interrupted run left in \(outputDir): \(removed.joined(separator: ", "))") }
        // with predict_with_generate, do_eval scores generated answers too (LLaMA-Factory's Seq2SeqTrainer
        // evaluates by generating then): one generation serves both
        let generate = config.bool("predict_with_generate") == true
        let splits = [("eval", config.bool("do_eval") == true), ("predict", config.bool("do_predict") == true)].filter(\.1).map(\.0)
        // the metric's data first: a missing jieba stops the run before minutes of generation
        let metric = generate ? SimilarityMetric(segmenter: JiebaSegmenter(dictionary: try JiebaDictionary.installed())) : nil
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(templateName))
        var options = SupervisedOptions()
        if let c = config.int("cutoff_len") { options.cutoffLen = c }
        if let t = config.bool("train_on_prompt") { options.trainOnPrompt = t }
        if let m = config.bool("mask_history") { options.maskHistory = m }
        let encoder = SupervisedEncoder(template: template, tokenizer: model.tokenizer, options: options)
        let conversations = try DatasetLoader.evaluationConversations(config, report: print)
        let batchSize = config.int("per_device_eval_batch_size") ?? 8
        if let metric {
            let session = try ChatSession(model: model, config: config, plugins: plugins)
            if let warning = session.templateWarning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            let encoded = try conversations.map { try encoder.promptAndLabel($0) }
            let prediction = try predict(encoded, model: model, session: session, metric: metric, batchSize: batchSize)
            for split in splits {
                var metrics = JSONObject()
                for (k, v) in prediction.metrics.pairs { metrics[split + "_" + k] = v }
                try saveMetrics(metrics, split: split, in: outputDir)
            }
            if splits.contains("predict") {
                try AtomicFile.write(prediction.lines.map { $0 + "\n" }.joined(), to: outputDir + "/generated_predictions.jsonl")
            }
            print("\(splits.joined(separator: " and ")) on \(encoded.count) generated answers in \(String(format: "%.1f", prediction.seconds)) s: "
                  + SimilarityScores.names.map { "\($0) \(String(format: "%.4f", prediction.metrics[$0]?.doubleValue ?? 0))" }.joined(separator: ", ")
                  + " → \(outputDir)" + (splits.contains("predict") ? "/generated_predictions.jsonl" : ""))
        } else {
            let examples = try conversations.map { try encoder.encode($0) }
            let metrics = try evaluate(examples, model: model, batchSize: batchSize, accuracy: config.bool("compute_accuracy") == true)
            try saveMetrics(metrics, split: "eval", in: outputDir)
            print("eval on \(examples.count) examples: " + metrics.pairs.map { "\($0.0) \($0.1.doubleValue.map { String(format: "%.4f", $0) } ?? "")" }.joined(separator: ", ")
                  + " → \(outputDir)/eval_results.json")
        }
    }

    /// What must hold before the model loads: stage sft and a template (returned).
    @discardableResult
    public static func check(_ config: RunConfig) throws -> String {
        guard config.stage == .sft else {
            throw TrainingError("stage \(config.stage.rawValue): do_eval and do_predict without training are implemented for stage sft")
        }
        guard let templateName = config.string("template") else {
            throw TrainingError("set template: the chat-template plugin that renders the eval conversations (`factory plugins list` shows them)")
        }
        return templateName
    }

    /// output_dir, or training's default for the method: saves/<finetuning_type>/sft.
    public static func outputDir(_ config: RunConfig) -> String {
        config.string("output_dir") ?? "saves/" + (config.string("finetuning_type") ?? "lora") + "/sft"
    }

    /// eval_loss, eval_accuracy (compute_accuracy), perplexity and the Trainer's speed fields.
    static func evaluate(_ examples: [EncodedExample], model: LoadedModel, batchSize: Int, accuracy: Bool) throws -> JSONObject {
        let started = Date()
        let bar = ProgressLine(label: "evaluated", total: examples.count)
        let result = try TokenEvaluation.run(examples, model: model, batchSize: batchSize) { bar.update($0) }
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        var metrics = JSONObject()
        if accuracy { metrics["eval_accuracy"] = .double(result.accuracy) }
        metrics["eval_loss"] = .double(result.loss)
        metrics["eval_runtime"] = .double(PythonArithmetic.round(seconds, digits: 4))
        metrics["eval_samples_per_second"] = .double(PythonArithmetic.round(Double(result.examples) / max(seconds, 1e-9), digits: 3))
        metrics["eval_steps_per_second"] = .double(PythonArithmetic.round(Double(result.batches) / max(seconds, 1e-9), digits: 3))
        metrics["perplexity"] = .double(result.perplexity)
        return metrics
    }

    /// Generates an answer to every prompt and scores it against its label: the metrics without their split's
    /// prefix (bleu-4, rouge-1/2/l, runtime, samples/s, steps/s), generated_predictions.jsonl's lines.
    static func predict(_ encoded: [(prompt: [Int], label: [Int])], model: LoadedModel, session: ChatSession, metric: SimilarityMetric,
                        batchSize: Int) throws -> (metrics: JSONObject, lines: [String], seconds: Double) {
        let tokenizer = model.tokenizer
        let stopWords = session.renderer.stopWords
        var stops = model.stopIDs
        for word in stopWords { if let id = tokenizer.id(of: word) { stops.insert(id) } }
        let started = Date()
        let bar = ProgressLine(label: "generated", total: encoded.count)
        let generated = try BatchPrediction.generate(encoded.map(\.prompt), model: model, rows: min(batchSize, maxPredictionRows), options: session.options,
                                                     stopIDs: stops, stopStrings: stopWords) { done, tokens in bar.update(done, extra: "\(tokens) tokens") }
        bar.finish()
        var lines: [String] = [], scores: [SimilarityScores] = []
        for (e, ids) in zip(encoded, generated) {
            var prediction = tokenizer.decode(ids, skipSpecial: true)
            for word in stopWords where prediction.hasSuffix(word) { prediction.removeLast(word.count) }
            let label = tokenizer.decode(e.label, skipSpecial: true)
            scores.append(metric.score(prediction: prediction, label: label))
            // json.dumps(…, ensure_ascii=False), as LLaMA-Factory's save_predictions writes each line
            let row = JSONObject([("prompt", .string(tokenizer.decode(e.prompt, skipSpecial: false))), ("predict", .string(prediction)), ("label", .string(label))])
            lines.append(JSON.object(row).spacedLine())
        }
        let seconds = Date().timeIntervalSince(started)
        var metrics = JSONObject()
        for (name, value) in SimilarityMetric.means(scores) { metrics[name] = .double(value) }
        let batches = (encoded.count + max(batchSize, 1) - 1) / max(batchSize, 1)
        metrics["runtime"] = .double(PythonArithmetic.round(seconds, digits: 4))
        metrics["samples_per_second"] = .double(PythonArithmetic.round(Double(encoded.count) / max(seconds, 1e-9), digits: 3))
        metrics["steps_per_second"] = .double(PythonArithmetic.round(Double(batches) / max(seconds, 1e-9), digits: 3))
        return (metrics, lines, seconds)
    }

    /// The Trainer's save_metrics: `<split>_results.json`, and the same keys merged into all_results.json
    /// (kept from earlier runs into the same output_dir), keys sorted; each file replaced atomically.
    static func saveMetrics(_ metrics: JSONObject, split: String, in directory: String) throws {
        func sorted(_ o: JSONObject) -> JSONObject { JSONObject(o.pairs.sorted { $0.0 < $1.0 }) }
        try AtomicFile.write(JSON.object(sorted(metrics)).prettyPrinted() + "\n", to: directory + "/\(split)_results.json")
        let allPath = directory + "/all_results.json"
        var all = JSONObject()
        if let data = FileManager.default.contents(atPath: allPath) {
            guard let existing = (try? JSON.parse(bytes: [UInt8](data)))?.objectValue else {
                throw TrainingError("\(allPath): not a JSON object; move it away to let this run write its results")
            }
            all = existing
        }
        for (k, v) in metrics.pairs { all[k] = v }
        try AtomicFile.write(JSON.object(sorted(all)).prettyPrinted() + "\n", to: allPath)
    }

}

/// A running count on stderr ("\r<label> 12/40 …"), one line at the end.
final class ProgressLine {
    let label: String, total: Int
    let started = Date()
    init(label: String, total: Int) { (self.label, self.total) = (label, total) }

    func update(_ done: Int, extra: String = "") {
        let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
        FileHandle.standardError.write(Data(String(format: "\r%@ %d/%d examples%@, %.2f examples/s", label, done, total, extra.isEmpty ? "" : ", " + extra, rate).utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
