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
/// three AdamW steps: the loss at every step and the final value head's weight within 1e-4; then
/// `ValueHead.reward` (what `factory score --reward` runs) scores as the training path does.
final class RewardReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_rm"

    func testThreeStepsReproduceLLaMAFactorysRewardTrainer() throws {
        let reference = try ReferenceRuns.json(Self.here + "/reference.json")
        let pairs = ReferenceRuns.pairs(try ReferenceRuns.json(Self.here + "/../tiny_dpo/reference.json")["pairs"])
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let head = try XCTUnwrap(try ValueHead.load(from: Self.here + "/initial", hidden: 64))
        head.dropout = 0  // the reference turned TRL's 0.1 off to be deterministic
        var adapted: AdaptedModel?
        let records = try ReferenceRuns.run(model, lora: JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")]),
                                            adapter: Self.here + "/initial", plugins: plugins, learningRate: 1e-2, batch: 2, steps: 3, padID: 0) { a in
            adapted = a
            return .reward(RewardData(train: pairs, eval: [], valueHead: head))
        }
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
        // `factory score --reward`'s path (one sequence, the adapter installed) gives the scores the training path
        // gives the same rows in a padded batch of a chosen and a rejected answer
        let adapter = try XCTUnwrap(adapted)
        let rows = [pairs[0].chosen, pairs[0].rejected]
        let batch = MicroBatch(rows, padID: 0)
        let last = rows.enumerated().map { b, e in b * batch.seq + e.inputIDs.count - 1 }
        let trained = try GradMode.disabled {
            try adapter.withHooks(fusedHead: { x, _ in head.scores(hidden: x, positions: last, seed: nil) }) {
                try model.forward(ids: batch.ids, batch: 2, seq: batch.seq, positions: Array(0..<batch.seq), mask: nil, headFused: true)
            }
        }.values
        let previous = EngineHooks.linear
        adapter.installHooks()
        defer { EngineHooks.linear = previous }
        let single = try rows.map { try head.reward(of: $0.inputIDs, model: model) }
        for (a, b) in zip(single, trained) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertNotEqual(single[0], single[1])
    }
}
