import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Two models in one process, each in its own ExecutionContext: the tiny Llama and the tiny Qwen2,
/// each with its own LoRA, trained step by step in turns give exactly the losses each gives alone.
/// (A policy and a reference model, or a server answering two requests, need exactly this.)
final class ExecutionContextTests: XCTestCase {
    static let examples = (0..<4).map { i in
        let ids = (0..<(8 + i)).map { (i * 17 + $0 * 3) % 500 + 3 }
        return EncodedExample(inputIDs: ids, labels: [-100, -100] + Array(ids.dropFirst(2)))
    }

    /// A LoRA trainer of `family` built inside a fresh context (the model's parameters, hooks and
    /// checkpointing live there), and that context.
    func trainer(_ family: String, plugins: PluginSet, output: String) throws -> (ExecutionContext, Trainer) {
        let context = ExecutionContext()
        let trainer = try context.run { () throws -> Trainer in
            let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/" + family, plugins: plugins)
            let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"),
                                                      config: .object(JSONObject([("lora_rank", 4), ("lora_target", "all"), ("lora_dropout", 0.1)])))
            let adapted = try AdaptedModel(model: model, method: method, seed: 7, training: true)
            var args = TrainingArguments()
            (args.learningRate, args.batchSize, args.maxSteps, args.disableShuffling, args.outputDir) = (1e-2, 2, 4, true, output)
            let trainer = try Trainer(adapted: adapted, args: args, train: Self.examples, padID: 0, baseModel: family)
            trainer.print = { _ in }
            return trainer
        }
        // a context of its own: checkpointing here differs from the other model's, and must not leak
        context.keepLinearOutputs = family == "llama"
        return (context, trainer)
    }

    func testTwoModelsTrainedInTurnsGiveTheLossesEachGivesAlone() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let dir = NSTemporaryDirectory() + "factory-contexts-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var alone: [String: [Double]] = [:]
        for family in ["llama", "qwen2"] {
            let (context, t) = try trainer(family, plugins: plugins, output: dir + "/alone-" + family)
            alone[family] = try (0..<4).map { step in try context.run { try t.optimizerStep(step).loss } }
        }
        let (a, ta) = try trainer("llama", plugins: plugins, output: dir + "/a")
        let (b, tb) = try trainer("qwen2", plugins: plugins, output: dir + "/b")
        var turns: [String: [Double]] = ["llama": [], "qwen2": []]
        for step in 0..<4 {
            turns["llama"]!.append(try a.run { try ta.optimizerStep(step).loss })
            turns["qwen2"]!.append(try b.run { try tb.optimizerStep(step).loss })
        }
        XCTAssertEqual(turns["llama"], alone["llama"])
        XCTAssertEqual(turns["qwen2"], alone["qwen2"])
        XCTAssertNotEqual(alone["llama"], alone["qwen2"])
        XCTAssertGreaterThan(alone["llama"]![0] - alone["llama"]![3], 0.01, "it learns")
        // each context kept its own state; the process's own context saw none of it
        XCTAssertFalse(a.parameters === b.parameters)
        XCTAssertTrue(ExecutionContext.current !== a && ExecutionContext.current !== b)
        XCTAssertNil(ExecutionContext.current.parameters["model.layers.0.self_attn.q_proj.weight"])
    }

    /// A hook installed for good in one context (as chat installs an adapter's linear) never reaches a
    /// model running in another: the base model's logits stay what they were.
    func testAHookInstalledInOneContextDoesNotReachAnother() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let ids = [5, 17, 33, 2, 9]
        let b = ExecutionContext()
        let base = try b.run { try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/qwen2", plugins: plugins) }
        let reference = try b.run { try base.logits(ids).values }
        let a = ExecutionContext()
        let other = try a.run { () throws -> LoadedModel in
            let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
            EngineHooks.linear = { name, x in scale(try EngineHooks.baseLinear(name, x), 2) }
            return model
        }
        let doubled = try a.run { try other.logits(ids).values }
        XCTAssertNotEqual(doubled, try other.logits(ids).values, "the hook works in its own context only")
        XCTAssertEqual(try b.run { try base.logits(ids).values }, reference)
        XCTAssertEqual(try base.logits(ids).values, reference, "nor in the process's own context")
    }
}
