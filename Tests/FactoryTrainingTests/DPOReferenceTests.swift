import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage dpo against TRL's losses (and LLaMA-Factory's orpo and simpo) on the tiny Llama with LoRA:
/// the same initial adapter and pairs (Fixtures/tiny_dpo, made by generate.py there in a venv with TRL
/// 0.24), three AdamW steps of each case: the loss and every reward metric at every step, within 1e-4.
final class DPOReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_dpo"

    func testEveryLossFollowsTRLStepByStep() throws {
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/reference.json"))))
        func ints(_ j: JSON?) -> [Int] { (j?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let pairs = (reference["pairs"]?.arrayValue ?? []).map { p -> PairwiseExample in
            let prompt = ints(p["prompt"])
            func example(_ answer: [Int]) -> EncodedExample {
                EncodedExample(inputIDs: prompt + answer, labels: [Int](repeating: -100, count: prompt.count) + answer)
            }
            return PairwiseExample(chosen: example(ints(p["chosen"])), rejected: example(ints(p["rejected"])))
        }
        XCTAssertEqual(pairs.count, 6)
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let cases = reference["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 7)
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            var s = PreferenceSettings()
            s.kind = try XCTUnwrap(PreferenceLossKind(rawValue: c["loss"]?.stringValue ?? ""), name)
            s.beta = c["beta"]?.doubleValue ?? 0.1
            s.labelSmoothing = c["label_smoothing"]?.doubleValue ?? 0
            s.ftx = c["ftx"]?.doubleValue ?? 0
            s.simpoGamma = c["simpo_gamma"]?.doubleValue ?? 0.5
            let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
            let config = JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")])
            let lora = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
            let adapted = try AdaptedModel(model: model, method: lora, adapterDirectory: Self.here + "/initial")
            var args = TrainingArguments()
            args.outputDir = NSTemporaryDirectory() + "factory-dpo-ref-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
            (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (1e-2, 2, 3, 1, .constant)
            (args.weightDecay, args.disableShuffling, args.saveCheckpoints) = (0, true, false)
            let data = PreferenceData(train: pairs, eval: [], settings: s, ldAlpha: c["ld_alpha"]?.doubleValue)
            let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: 0, baseModel: "tiny", objective: .preference(data))
            trainer.print = { _ in }
            var records: [StepRecord] = []
            trainer.onStep = { records.append($0) }
            try trainer.run()
            let history = c["history"]?.arrayValue ?? []
            XCTAssertEqual(records.count, 3, name)
            for (step, (record, want)) in zip(records, history).enumerated() {
                XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): loss")
                for key in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"] {
                    XCTAssertEqual(record.metrics[key] ?? .nan, want[key]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) step \(step + 1): \(key)")
                }
            }
        }
    }
}
