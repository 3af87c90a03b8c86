import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage dpo against TRL's losses (and LLaMA-Factory's orpo and simpo) on the tiny Llama with LoRA, and
/// with full fine-tuning against a frozen copy of the model: the same initial adapter and pairs (Fixtures/tiny_dpo, made by generate.py there in a venv with TRL
/// 0.24), three AdamW steps of each case: the loss and every reward metric at every step, within 1e-4.
final class DPOReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_dpo"

    func testEveryLossFollowsTRLStepByStep() throws {
        let reference = try ReferenceRuns.json(Self.here + "/reference.json")
        let pairs = ReferenceRuns.pairs(reference["pairs"])
        XCTAssertEqual(pairs.count, 6)
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let cases = reference["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 8)
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            var s = PreferenceSettings()
            s.kind = try XCTUnwrap(PreferenceLossKind(rawValue: c["loss"]?.stringValue ?? ""), name)
            s.beta = c["beta"]?.doubleValue ?? 0.1
            s.labelSmoothing = c["label_smoothing"]?.doubleValue ?? 0
            s.ftx = c["ftx"]?.doubleValue ?? 0
            s.simpoGamma = c["simpo_gamma"]?.doubleValue ?? 0.5
            let path = TinyTrainingTests.shared + "/fixtures/tiny/llama"
            let model = try LoadedModel.load(path, plugins: plugins)
            let full = c["full"]?.boolValue ?? false  // every parameter trains; the reference is a frozen copy loaded again
            let reference: ReferenceModel = full ? .frozen(try LoadedModel.load(path, plugins: plugins), origin: "a copy") : .adapterOff
            let records = try ReferenceRuns.run(model, method: full ? "full" : "lora",
                                                lora: full ? JSONObject() : JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")]),
                                                adapter: full ? nil : Self.here + "/initial", plugins: plugins, learningRate: full ? 1e-3 : 1e-2,
                                                batch: 2, steps: 3, padID: 0) { _ in
                .preference(PreferenceData(train: pairs, eval: [], settings: s, ldAlpha: c["ld_alpha"]?.doubleValue, reference: reference))
            }
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
