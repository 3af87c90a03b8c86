import FactoryData
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// The LoRA SFT trajectory of ../shared/fixtures/smollm2/lora_sft (transformers + PEFT, fp32):
/// the same initial adapter, batch and AdamW, eight steps through Factory's trainer, with the
/// README's tolerances: loss per step and after training ≤ 2e-4, gradients ≤ 2e-3 relative
/// (Frobenius), final adapter ≤ 5e-3 relative over all tensors and ≤ 5e-2 per tensor.
/// Run it in release: `swift test -c release --filter LoRATrajectoryTests`.
final class LoRATrajectoryTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/smollm2/lora_sft").path

    func testEightStepsReproduceTransformersAndPEFT() throws {
        let trajectory = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/trajectory.json"))))
        let examples = (trajectory["examples"]?.arrayValue ?? []).map { e in
            EncodedExample(inputIDs: (e["input_ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) },
                           labels: (e["labels"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) })
        }
        XCTAssertEqual(examples.count, 4)
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins)
        let config = JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_dropout", 0.0), ("lora_target", ["q_proj", "v_proj"])])
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
        let adapted = try AdaptedModel(model: model, method: method, adapterDirectory: Self.fixtures + "/adapter_init")
        XCTAssertEqual(adapted.trainableCount, 460_800)

        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-lora-trajectory-\(getpid())"
        args.learningRate = 1e-3
        args.batchSize = 4
        args.epochs = 8
        args.schedule = .constant
        args.maxGradNorm = 0
        args.disableShuffling = true
        args.loggingSteps = 100
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        let trainer = try Trainer(adapted: adapted, args: args, train: examples, eval: examples, padID: 2, baseModel: "SmolLM2-135M-Instruct")
        trainer.print = { _ in }
        XCTAssertEqual(trainer.totalSteps, 8)

        let grads = try SafetensorsFile(path: Self.fixtures + "/grads.safetensors")
        let q = "model.layers.0.self_attn.q_proj"
        trainer.onGradients = { step in
            guard step <= 2 else { return }
            for part in ["lora_A", "lora_B"] {
                let t = adapted.trainable.first { $0.name == "\(q).\(part).weight" }!.tensor
                let expected = try! grads.float32("step\(step).base_model.model.\(q).\(part).weight")
                let got = t.grad?.values ?? [Float](repeating: 0, count: t.count)
                let norm = expected.map { Double($0 * $0) }.reduce(0, +).squareRoot()
                let diff = zip(got, expected).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +).squareRoot()
                if norm == 0 { XCTAssertEqual(diff, 0, "step \(step) \(part): expected a zero gradient") } else {
                    XCTAssertLessThanOrEqual(diff / norm, 2e-3, "step \(step) \(part) gradient")
                }
            }
        }
        var losses: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        try trainer.run()
        let expected = (trajectory["history"]?.arrayValue ?? []).compactMap { $0["loss"]?.doubleValue }
        XCTAssertEqual(losses.count, 8)
        for (i, (a, b)) in zip(losses, expected).enumerated() { XCTAssertEqual(a, b, accuracy: 2e-4, "loss at step \(i + 1)") }
        print("lora trajectory: worst loss difference", zip(losses, expected).map { abs($0 - $1) }.max() ?? 0)
        XCTAssertEqual(try trainer.evaluate(), trajectory["loss_after_training"]?.doubleValue ?? 0, accuracy: 2e-4, "loss after training")

        let final = try SafetensorsFile(path: Self.fixtures + "/adapter_final/adapter_model.safetensors")
        let saved = try SafetensorsFile(path: args.outputDir + "/adapter_model.safetensors")
        XCTAssertEqual(Set(saved.tensors.keys), Set(final.tensors.keys))
        var diff = 0.0, norm = 0.0
        for name in final.tensors.keys {
            let e = try final.float32(name), g = try saved.float32(name)
            let d = zip(g, e).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +), n = e.map { Double($0 * $0) }.reduce(0, +)
            XCTAssertLessThanOrEqual((d / n).squareRoot(), 5e-2, name)
            diff += d
            norm += n
        }
        XCTAssertLessThanOrEqual((diff / norm).squareRoot(), 5e-3, "final adapter, all tensors")
        print("lora trajectory: final adapter relative error", (diff / norm).squareRoot())
        let written = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: args.outputDir + "/adapter_config.json"))))
        XCTAssertEqual(written["peft_type"]?.stringValue, "LORA")
        XCTAssertEqual(written["r"]?.intValue, 8)
    }
}
