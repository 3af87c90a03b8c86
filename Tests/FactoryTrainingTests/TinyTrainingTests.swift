import FactoryData
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// Training on the tiny Llama of ../shared/fixtures/tiny/llama: full fine-tuning against a torch
/// reference (Fixtures/tiny_full, made by generate.py there), and resume = uninterrupted.
final class TinyTrainingTests: XCTestCase {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared").path
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

    func plugins() throws -> PluginSet { try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false) }

    func temporary(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "factory-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func adapted(_ method: String, _ config: JSONObject = JSONObject(), plugins: PluginSet) throws -> AdaptedModel {
        let model = try LoadedModel.load(Self.shared + "/fixtures/tiny/llama", plugins: plugins)
        let m = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup(method), config: .object(config))
        return try AdaptedModel(model: model, method: m)
    }

    func testFullFineTuningMatchesTorch() throws {
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/Fixtures/tiny_full/reference.json"))))
        let rows = (reference["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let examples = rows.map { r in EncodedExample(inputIDs: r, labels: [Int](repeating: -100, count: 4) + Array(r.dropFirst(4))) }
        let plugins = try plugins()
        let full = try adapted("full", plugins: plugins)
        var args = TrainingArguments()
        args.outputDir = temporary("tiny-full")
        args.learningRate = 1e-2
        args.batchSize = 3
        args.maxSteps = 6
        args.warmupSteps = 1
        args.weightDecay = 0.01
        args.maxGradNorm = 1
        args.disableShuffling = true
        let trainer = try Trainer(adapted: full, args: args, train: examples, padID: 0, baseModel: "tiny")
        trainer.print = { _ in }
        var records: [StepRecord] = []
        trainer.onStep = { records.append($0) }
        try trainer.run()
        let history = reference["history"]?.arrayValue ?? []
        XCTAssertEqual(records.count, 6)
        for (r, h) in zip(records, history) {
            XCTAssertEqual(r.loss, h["loss"]?.doubleValue ?? .nan, accuracy: 1e-5, "loss, step \(r.step)")
            XCTAssertEqual(r.gradNorm, h["grad_norm"]?.doubleValue ?? .nan, accuracy: 1e-4 * max(1, r.gradNorm), "grad norm, step \(r.step)")
            XCTAssertEqual(r.learningRate, h["lr"]?.doubleValue ?? .nan, accuracy: 1e-12, "lr, step \(r.step)")
        }
        let expected = try SafetensorsFile(path: Self.here + "/Fixtures/tiny_full/final.safetensors")
        let saved = try SafetensorsFile(path: args.outputDir + "/model.safetensors")
        var diff = 0.0, norm = 0.0
        for name in expected.tensors.keys {
            let e = try expected.float32(name), g = try saved.float32(name)
            XCTAssertEqual(e.count, g.count, name)
            diff += zip(g, e).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +)
            norm += e.map { Double($0 * $0) }.reduce(0, +)
        }
        XCTAssertLessThanOrEqual((diff / norm).squareRoot(), 1e-4, "final weights, relative")
        print("tiny full fine-tuning: worst loss difference", zip(records, history).map { abs($0.loss - ($1["loss"]?.doubleValue ?? 0)) }.max() ?? 0,
              "final weights relative error", (diff / norm).squareRoot())
    }

    func testResumingFromACheckpointGivesTheUninterruptedAdapter() throws {
        let plugins = try plugins()
        let examples = (0..<8).map { i in
            let ids = (0..<(6 + i)).map { (i * 31 + $0 * 7) % 500 + 3 }
            return EncodedExample(inputIDs: ids, labels: [-100, -100] + Array(ids.dropFirst(2)))
        }
        // with dropout: its masks come from (seed, step, micro-batch), so the resumed run draws the same
        let lora = JSONObject([("lora_rank", 4), ("lora_target", "all"), ("lora_dropout", 0.2)])
        func arguments(_ dir: String) -> TrainingArguments {
            var a = TrainingArguments()
            a.outputDir = dir
            a.learningRate = 5e-3
            a.batchSize = 2
            a.gradientAccumulation = 2
            a.maxSteps = 10
            a.saveSteps = 5
            a.schedule = .cosine
            a.warmupRatio = 0.1
            return a
        }
        let straight = temporary("straight"), interrupted = temporary("interrupted")
        let a = try Trainer(adapted: try adapted("lora", lora, plugins: plugins), args: arguments(straight), train: examples, padID: 0, baseModel: "tiny")
        a.print = { _ in }
        try a.run()

        let first = try Trainer(adapted: try adapted("lora", lora, plugins: plugins), args: arguments(interrupted), train: examples, padID: 0, baseModel: "tiny")
        first.print = { _ in }
        first.stopAfter = 5
        XCTAssertEqual(try first.run().steps, 5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: interrupted + "/checkpoint-5/optimizer.safetensors"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: interrupted + "/adapter_model.safetensors"))
        // What a kill -9 in the middle of saving checkpoint 9 would leave: a .partial folder, ignored.
        try FileManager.default.createDirectory(atPath: interrupted + "/checkpoint-9.partial", withIntermediateDirectories: true)
        try Data("{\"global_step\": 9".utf8).write(to: URL(fileURLWithPath: interrupted + "/checkpoint-9.partial/trainer_state.json"))
        let second = try Trainer(adapted: try adapted("lora", lora, plugins: plugins), args: arguments(interrupted), train: examples, padID: 0, baseModel: "tiny")
        var resumedAt: String?
        second.print = { if $0.hasPrefix("resuming") { resumedAt = $0 } }
        XCTAssertEqual(try second.run().steps, 10)
        XCTAssertEqual(resumedAt, "resuming from \(interrupted)/checkpoint-5 at step 5")

        let x = try Data(contentsOf: URL(fileURLWithPath: straight + "/adapter_model.safetensors"))
        let y = try Data(contentsOf: URL(fileURLWithPath: interrupted + "/adapter_model.safetensors"))
        XCTAssertEqual(x, y, "the resumed adapter differs from the uninterrupted one")
        let log = try String(contentsOfFile: interrupted + "/trainer_log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"current_steps\":10"), log)
    }
}

extension TinyTrainingTests {
    /// LoRA dropout under gradient checkpointing: the forward (no tape) and the backward's re-run of
    /// each layer must draw the same masks, so the gradients equal those of a run without checkpointing.
    func testDropoutMasksAreTheSameInForwardAndCheckpointReplay() throws {
        let plugins = try plugins()
        let examples = (0..<2).map { i in
            let ids = (0..<(9 + i)).map { (i * 13 + $0 * 5) % 500 + 3 }
            return EncodedExample(inputIDs: ids, labels: [-100] + Array(ids.dropFirst()))
        }
        func gradients(checkpointing: Bool, dropout: Double) throws -> (Double, [Float]) {
            GradientCheckpointing.enabled = checkpointing
            defer { GradientCheckpointing.enabled = true }
            let lora = try adapted("lora", JSONObject([("lora_rank", 4), ("lora_target", "q_proj,v_proj"), ("lora_dropout", .double(dropout))]), plugins: plugins)
            // B non-zero so that A's gradient (and the masked path) is not trivially zero
            for t in lora.trainable where t.name.hasSuffix("lora_B.weight") { for i in 0..<t.tensor.count { t.tensor.data[i] = Float(i % 5) * 0.01 } }
            var args = TrainingArguments()
            args.outputDir = temporary("dropout")
            args.batchSize = 2
            args.maxSteps = 1
            let trainer = try Trainer(adapted: lora, args: args, train: examples, padID: 0, baseModel: "tiny")
            trainer.print = { _ in }
            var grads: [Float] = [], loss = 0.0
            trainer.onGradients = { _ in grads = lora.trainable.flatMap { $0.tensor.grad?.values ?? [] } }
            trainer.onStep = { loss = $0.loss }
            try trainer.run()
            return (loss, grads)
        }
        let (plainLoss, plain) = try gradients(checkpointing: false, dropout: 0.3)
        let (keptLoss, kept) = try gradients(checkpointing: true, dropout: 0.3)
        XCTAssertEqual(plainLoss, keptLoss, accuracy: 1e-6)
        XCTAssertEqual(plain.count, kept.count)
        XCTAssertLessThanOrEqual(zip(plain, kept).map { abs($0 - $1) }.max() ?? 1, 1e-6 * max(1, plain.map(abs).max() ?? 0))
        let (noDropoutLoss, _) = try gradients(checkpointing: true, dropout: 0)
        XCTAssertNotEqual(noDropoutLoss, keptLoss, "dropout should change the training loss")
    }

    func testLoRAPlanOptions() throws {
        let plugins = try plugins()
        let all = try adapted("lora", JSONObject([("lora_rank", 4), ("lora_target", "all"), ("use_rslora", true), ("loraplus_lr_ratio", 16.0),
                                                  ("additional_target", "embed_tokens")]), plugins: plugins)
        let adaptedNames = Set((all.plan["adapted_linears"]?.arrayValue ?? []).compactMap(\.stringValue))
        XCTAssertEqual(adaptedNames.count, 2 * 7, "seven linears per layer, two layers, no lm_head")
        XCTAssertFalse(adaptedNames.contains { $0.contains("lm_head") })
        let b = try XCTUnwrap(all.trainable.first { $0.name == "model.layers.1.mlp.down_proj.lora_B.weight" })
        XCTAssertEqual(b.lrScale, 16)
        XCTAssertEqual(b.tensor.shape, [64, 4])
        XCTAssertEqual(b.savedAs, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")
        let embed = try XCTUnwrap(all.trainable.first { $0.name == "model.embed_tokens.weight" })
        XCTAssertEqual(embed.savedAs, "base_model.model.model.embed_tokens.weight")
        let config = try XCTUnwrap(all.plan["adapter_config"])
        XCTAssertEqual(config["use_rslora"]?.boolValue, true)
        XCTAssertEqual(config["lora_alpha"]?.doubleValue, 8, "LLaMA-Factory's default alpha: 2 x rank")
        XCTAssertEqual(config["modules_to_save"]?.arrayValue?.compactMap(\.stringValue), ["embed_tokens"])

        // rsLoRA scales by alpha / sqrt(r): with B = 1 and A = 1 the update of one input is alpha/sqrt(r) * r * in.
        let model = all.model
        let x = Tensor(shape: [1, 64], values: [Float](repeating: 1, count: 64))
        for t in all.trainable where t.name.hasPrefix("model.layers.0.self_attn.q_proj.lora") { for i in 0..<t.tensor.count { t.tensor.data[i] = 1 } }
        let previous = ParameterStore.active
        ParameterStore.active = model.parameters
        defer { ParameterStore.active = previous }
        let base = try EngineHooks.baseLinear("model.layers.0.self_attn.q_proj", x)
        let y = try all.withHooks { try EngineHooks.linear("model.layers.0.self_attn.q_proj", x) }
        XCTAssertEqual(Double(y.values[0] - base.values[0]), 8 / 2.0 * 4 * 64, accuracy: 1e-2)

        XCTAssertThrowsError(try adapted("lora", JSONObject([("lora_target", "qkv")]), plugins: plugins)) { error in
            XCTAssertTrue("\(error)".contains("lora_target qkv matches no linear layer of this model (its linears: "), "\(error)")
        }
        // use_dora adds a magnitude vector per adapted linear, initialised to W's row norms (PEFT's init)
        let dora = try adapted("lora", JSONObject([("lora_target", "q_proj"), ("use_dora", true)]), plugins: plugins)
        let magnitudes = dora.trainable.filter { $0.savedAs.hasSuffix(".lora_magnitude_vector") }
        XCTAssertEqual(magnitudes.count, dora.trainable.count / 3)
        let first = try XCTUnwrap(magnitudes.first)
        let w = try XCTUnwrap(dora.model.parameters[String(first.name.dropLast(".lora_magnitude_vector".count)) + ".weight"])
        let row0 = (0..<w.shape[1]).map { w.values[$0] }
        XCTAssertEqual(first.tensor.values[0], row0.map { $0 * $0 }.reduce(0, +).squareRoot(), accuracy: 1e-5)
    }
}
