import ArgumentParser
import FactoryFormats
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation

/// `factory eval config.yaml`: LLaMA-Factory's `llamafactory-cli eval` (MMLU, CMMLU, C-Eval-style tasks).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Multiple-choice benchmark accuracy (LLaMA-Factory's llamafactory-cli eval): per subject and per category.",
        discussion: "Keys: model_name_or_path, adapter_name_or_path, template, task (<name>_<split>, e.g. mmlu_test), task_dir (evaluation), "
            + "n_shot (5), lang (en, zh), batch_size (4), save_dir (written: results.json, results.log; must not exist). "
            + "The few-shot examples are each subject's first n_shot dev questions.")

    @OptionGroup var model: ModelArguments
    @Option(help: "Also write each question's prompt ids, choice logits and answer as JSON lines (to compare with another implementation).")
    var prompts: String?

    /// LLaMA-Factory's categories, in its order; others follow in the order they appear.
    static let categories = ["Average", "STEM", "Social Sciences", "Humanities", "Other"]

    func run() throws {
        try guarded {
            let (config, loaded, plugins) = try model.load()
            guard let taskName = config.string("task") else { throw ConfigProblem("eval: set task (<name>_<split>, e.g. mmlu_test)") }
            let saveDir = config.string("save_dir")
            if let dir = saveDir, FileManager.default.fileExists(atPath: dir) {
                throw ConfigProblem("save_dir \(dir) exists: choose a new directory (results are not mixed with an earlier run's)")
            }
            let task = try MultipleChoiceTask(task: taskName, directory: config.string("task_dir") ?? "evaluation")
            let renderer = try ChatSession(model: loaded, config: config, plugins: plugins).renderer
            let wording: MultipleChoiceEvaluator.Wording = config.string("lang") == "zh" ? .zh : .en
            let evaluator = try MultipleChoiceEvaluator(model: loaded, renderer: renderer, wording: wording, nShot: config.int("n_shot") ?? 5,
                                                        batchSize: config.int("batch_size") ?? 4)
            var correct: [String: [Bool]] = [:], order = Self.categories
            var results = JSONObject(), lines: [String] = []
            let total = task.subjects.reduce(0) { $0 + $1.questions.count }
            var done = 0
            let started = Date()
            for subject in task.subjects {
                let answers = try evaluator.answer(subject) { n in
                    let rate = Double(done + n) / max(Date().timeIntervalSince(started), 1e-9)
                    FileHandle.standardError.write(Data(String(format: "\r%@: %d/%d questions, %.2f/s", subject.key, done + n, total, rate).utf8))
                }
                done += answers.count
                let marks = answers.map(\.correct)
                correct[subject.category, default: []] += marks
                correct["Average", default: []] += marks
                if !order.contains(subject.category) { order.append(subject.category) }
                results[subject.key] = .object(JSONObject(answers.enumerated().map { (String($0.offset), JSON.string($0.element.choice)) }))
                FileHandle.standardError.write(Data(String(format: "\r%@ (%@): %.2f\n", subject.name, subject.category, Self.percent(marks)).utf8))
                for (i, a) in answers.enumerated() where prompts != nil {
                    lines.append(JSON.object(JSONObject([("subject", .string(subject.key)), ("index", .int(Int64(i))),
                                                         ("prompt", .array(a.prompt.map { .int(Int64($0)) })),
                                                         ("choice_logits", .array(a.logits.map { .double(Double($0)) })),
                                                         ("choice", .string(a.choice)), ("answer", .string(subject.questions[i].answer))])).serialized())
                }
            }
            let elapsed = Date().timeIntervalSince(started)
            let scores = order.compactMap { name in correct[name].flatMap { $0.isEmpty ? nil : String(repeating: " ", count: max(0, 15 - name.count)) + name + String(format: ": %.2f", Self.percent($0)) } }
                .joined(separator: "\n")
            print(scores)
            FileHandle.standardError.write(Data(String(format: "%d questions in %.1f s (%.2f questions/s)\n", total, elapsed, Double(total) / max(elapsed, 1e-9)).utf8))
            if let path = prompts { try AtomicFile.write(lines.map { $0 + "\n" }.joined(), to: path) }
            if let dir = saveDir {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try AtomicFile.write(JSON.object(results).prettyPrinted() + "\n", to: dir + "/results.json")
                try AtomicFile.write(scores, to: dir + "/results.log")
            }
        }
    }

    static func percent(_ marks: [Bool]) -> Double { marks.isEmpty ? 0 : 100 * Double(marks.filter { $0 }.count) / Double(marks.count) }
}
