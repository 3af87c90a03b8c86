import FactoryConfig
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage kto against TRL's kto_loss as LLaMA-Factory's CustomKTOTrainer calls it, on the tiny Llama with
/// LoRA: the initial adapter of tiny_dpo, six examples with their KL examples (Fixtures/tiny_kto, made by
/// generate.py there), three AdamW steps of two cases (plain; weighted with pref_ftx), including a batch
/// without undesirable and one without desirable answers: loss, kl and every reward metric within 1e-4.
/// Also: the demo data's KL examples are the previous row's answers, as LLaMA-Factory rotates them.
final class KTOReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_kto"

    func testEveryCaseFollowsTRLStepByStep() throws {
        let reference = try ReferenceRuns.json(Self.here + "/reference.json")
        let examples = (reference["examples"]?.arrayValue ?? []).map { e -> FeedbackExample in
            let prompt = ReferenceRuns.ints(e["prompt"])
            return FeedbackExample(target: ReferenceRuns.example(prompt: prompt, answer: ReferenceRuns.ints(e["answer"])),
                                   kl: ReferenceRuns.example(prompt: prompt, answer: ReferenceRuns.ints(e["kl_answer"])), desirable: e["tag"]?.boolValue ?? false)
        }
        XCTAssertEqual(examples.map(\.desirable), [true, false, true, true, false, false])
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        for c in reference["cases"]?.arrayValue ?? [] {
            let name = c["name"]?.stringValue ?? "?"
            var data = KTOData(train: examples, eval: [])
            data.beta = c["beta"]?.doubleValue ?? 0.1
            data.desirableWeight = c["desirable_weight"]?.doubleValue ?? 1
            data.undesirableWeight = c["undesirable_weight"]?.doubleValue ?? 1
            data.ftx = c["ftx"]?.doubleValue ?? 0
            let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
            let records = try ReferenceRuns.run(model, lora: JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")]),
                                                adapter: Self.here + "/../tiny_dpo/initial", plugins: plugins, learningRate: 1e-2, batch: 2, steps: 3,
                                                padID: 0) { _ in .kto(data) }
            let history = c["history"]?.arrayValue ?? []
            XCTAssertEqual(records.count, 3, name)
            for (step, (record, want)) in zip(records, history).enumerated() {
                XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): loss")
                let logged = TrainerLog.combine([record.metrics])  // what a logging_steps: 1 record holds
                let keys = (want.objectValue?.keys ?? []).filter { $0 != "loss" }
                XCTAssertEqual(Set(logged.keys), Set(keys), "\(name) step \(step + 1): the logged metrics")
                for key in keys {
                    XCTAssertEqual(logged[key] ?? .nan, want[key]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): \(key)")
                }
            }
        }
    }

    func testTheDemoDataPairsEachRowWithThePreviousRowsAnswer() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup("chatml"))
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let config = try RunConfig.load(file: nil, overrides: ["dataset=factory_kto_demo", "dataset_dir=\(repository)/examples/data", "cutoff_len=512"])
        let examples = try DatasetLoader.loadFeedback(config, template: template, tokenizer: model.tokenizer)
        XCTAssertEqual(examples.count, 64)
        XCTAssertEqual(examples.filter(\.desirable).count, 32)
        func answer(_ e: EncodedExample) -> [Int] { zip(e.inputIDs, e.labels).compactMap { $1 == -100 ? nil : $0 } }
        func prompt(_ e: EncodedExample) -> [Int] { zip(e.inputIDs, e.labels).compactMap { $1 == -100 ? $0 : nil } }
        for i in 0..<examples.count {
            let previous = examples[(i + examples.count - 1) % examples.count]
            XCTAssertEqual(answer(examples[i].kl), answer(previous.target), "row \(i): the KL answer is row \(i - 1)'s")
            XCTAssertEqual(prompt(examples[i].kl), prompt(examples[i].target), "row \(i): the KL example keeps the row's prompt")
        }
    }
}
