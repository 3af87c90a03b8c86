import FactoryData
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage rm against LLaMA-Factory's PairwiseTrainer on TRL's value-head model with LoRA (PEFT): the same
/// initial adapter and value head (Fixtures/tiny_rm, made by generate.py there), the pairs of tiny_dpo,
/// three AdamW steps: the loss at every step and the final value head's weight within 1e-4; then the saved
/// value_head.safetensors and `ValueHead.reward` agree with the trained head.
final class RewardReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_rm"

    func testThreeStepsReproduceLLaMAFactorysRewardTrainer() throws {
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/reference.json"))))
        let dpo = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/../tiny_dpo/reference.json"))))
        func ints(_ j: JSON?) -> [Int] { (j?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let pairs = (dpo["pairs"]?.arrayValue ?? []).map { p -> PairwiseExample in
            let prompt = ints(p["prompt"])
            func example(_ answer: [Int]) -> EncodedExample {
                EncodedExample(inputIDs: prompt + answer, labels: [Int](repeating: -100, count: prompt.count) + answer)
            }
            return PairwiseExample(chosen: example(ints(p["chosen"])), rejected: example(ints(p["rejected"])))
        }
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let config = JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")])
        let lora = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
        let adapted = try AdaptedModel(model: model, method: lora, adapterDirectory: Self.here + "/initial")
        let head = try XCTUnwrap(try ValueHead.load(from: Self.here + "/initial", hidden: 64))
        head.dropout = 0  // the reference turned TRL's 0.1 off to be deterministic
        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-rm-ref-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (1e-2, 2, 3, 1, .constant)
        (args.weightDecay, args.disableShuffling, args.saveCheckpoints) = (0, true, false)
        let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: 0, baseModel: "tiny",
                                  objective: .reward(RewardData(train: pairs, eval: [], valueHead: head)))
        trainer.print = { _ in }
        var records: [StepRecord] = []
        trainer.onStep = { records.append($0) }
        try trainer.run()
        let history = reference["history"]?.arrayValue ?? []
        XCTAssertEqual(records.count, 3)
        for (step, (record, want)) in zip(records, history).enumerated() {
            XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "step \(step + 1): loss")
        }
        let final = reference["final_v_head"]
        let weight = (final?["v_head.summary.weight"]?.arrayValue ?? []).compactMap(\.doubleValue)
        XCTAssertEqual(weight.count, 64)
        for (j, w) in weight.enumerated() { XCTAssertEqual(Double(head.weight.data[j]), w, accuracy: 1e-4, "v_head weight \(j)") }
        // not the bias: its gradient is zero in exact arithmetic (it cancels in chosen − rejected), so each side's
        // bias moves by its own rounding noise divided by Adam's tiny second moment (~1e-3 a step on both sides)
        // what was saved is the trained head, and a reward read through it is the head's score at the last token
        let saved = try XCTUnwrap(try ValueHead.load(from: args.outputDir, hidden: 64))
        XCTAssertEqual(saved.weight.values, head.weight.values)
        saved.dropout = 0
        let previous = EngineHooks.linear
        adapted.installHooks()
        defer { EngineHooks.linear = previous }
        let chosen = try saved.reward(of: pairs[0].chosen.inputIDs, model: model), rejected = try saved.reward(of: pairs[0].rejected.inputIDs, model: model)
        let (loss, _, _) = try GradMode.disabled { try trainer.rewardLoss([pairs[0]], RewardData(train: pairs, eval: [], valueHead: saved), dropoutSeed: nil) }
        // the training loss of that pair is −log σ(chosen − rejected): the margin it implies is the rewards' difference
        let sigma = exp(-Double(loss.values[0]))
        XCTAssertEqual(Double(chosen - rejected), log(sigma / (1 - sigma)), accuracy: 1e-4)
        XCTAssertNotEqual(chosen, rejected)
    }
}
