import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation
import XCTest

/// Stage dpo through the Trainer on the tiny Llama with LoRA: a zero-initialised B makes the policy its
/// own reference, so the first sigmoid step's loss is ln 2 to float rounding, and the reference pass
/// (the adapter switched off) stays the base model while the adapter trains.
final class PreferenceTrainingTests: XCTestCase {
    func pairs() -> [PairwiseExample] {
        // prompt tokens unlabelled, answers labelled; chosen and rejected differ in their answers only
        (0..<4).map { i in
            let prompt = [1, 5 + i, 9, 12]
            func example(_ answer: [Int]) -> EncodedExample {
                EncodedExample(inputIDs: prompt + answer, labels: [Int](repeating: -100, count: prompt.count) + answer)
            }
            return PairwiseExample(chosen: example([20 + i, 21, 22, 2]), rejected: example([40 + i, 41, 2]))
        }
    }

    func testFirstSigmoidStepCostsLn2AndTheReferenceIsTheBase() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let lora = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"),
                                                config: .object(JSONObject([("lora_target", .string("all"))])))
        let adapted = try AdaptedModel(model: model, method: lora)
        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-dpo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        (args.learningRate, args.batchSize, args.maxSteps, args.disableShuffling) = (5e-3, 2, 4, true)
        let data = PreferenceData(train: pairs(), eval: [], settings: PreferenceSettings())
        let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: 0, baseModel: "tiny", objective: .preference(data))
        trainer.print = { _ in }
        // the base's log-probabilities before training, read with the adapter switched off
        let before = try GradMode.disabled { try trainer.preferenceLoss(pairs(), data) { try trainer.pairReference(pairs(), data) } }
        var records: [StepRecord] = []
        trainer.onStep = { records.append($0) }
        try trainer.run()
        XCTAssertEqual(records.count, 4)
        XCTAssertEqual(records[0].loss, log(2.0), accuracy: 1e-7, "step 1: policy = reference")
        XCTAssertEqual(before.0.metrics["rewards/margins"], 0)
        XCTAssertLessThan(records[3].loss, records[0].loss - 0.01, "\(records.map(\.loss))")
        XCTAssertGreaterThan(records[3].metrics["rewards/margins"] ?? 0, 0)
        // after training, the policy moved and the reference did not: its log-probabilities are the base's
        let after = try GradMode.disabled { try trainer.preferenceLoss(pairs(), data) { try trainer.pairReference(pairs(), data) } }
        XCTAssertNotEqual(after.0.metrics["logps/chosen"], before.0.metrics["logps/chosen"], "the policy trained")
        let chosenRewardAfter = try XCTUnwrap(after.0.metrics["rewards/chosen"]), beta = PreferenceSettings().beta
        let policyMoved = try XCTUnwrap(after.0.metrics["logps/chosen"]) - (before.0.metrics["logps/chosen"] ?? 0)
        XCTAssertEqual(chosenRewardAfter, beta * policyMoved, accuracy: 1e-4, "reward = β(policy − reference) with the reference still the base")
    }

    /// Reference values are kept only when the run sees its examples more than once, and a value the cache
    /// lacks is computed with its example's first-epoch micro-batch, whole, once.
    func testTheReferenceCacheComputesEachFirstEpochBatchOnce() throws {
        let plan = BatchPlan(count: 6, batchSize: 2, accumulation: 1, seed: 3, shuffle: true)
        XCTAssertFalse(ReferenceCache(plan: plan, totalSteps: 3).keeps, "one epoch: nothing to keep")
        let cache = ReferenceCache(plan: plan, totalSteps: 6)
        XCTAssertTrue(cache.keeps)
        var computed: [[Int]] = []
        func compute(_ batch: [Int]) -> [(Float, Float)] {
            computed.append(batch)
            return batch.map { (Float($0), -Float($0)) }
        }
        let firstEpoch = (0..<3).flatMap { plan.microBatches(ofStep: $0) }
        let secondEpoch = (3..<6).flatMap { plan.microBatches(ofStep: $0) }
        XCTAssertNotEqual(firstEpoch, secondEpoch, "the second epoch is shuffled anew")
        XCTAssertEqual(plan.microBatches(ofEpoch: 0), firstEpoch, "an epoch's batches at once are its steps' batches")
        XCTAssertEqual(plan.microBatches(ofEpoch: 1), secondEpoch)
        // resuming in the second epoch: its first batch's examples come from first-epoch batches
        let values = try cache.values(for: secondEpoch[0], compute: compute)
        XCTAssertEqual(values.map(\.0), secondEpoch[0].map(Float.init))
        XCTAssertEqual(values.map(\.1), secondEpoch[0].map { -Float($0) })
        XCTAssertTrue(computed.allSatisfy { firstEpoch.contains($0) }, "\(computed) are not first-epoch batches \(firstEpoch)")
        for batch in secondEpoch.dropFirst() { _ = try cache.values(for: batch, compute: compute) }
        XCTAssertEqual(Set(computed.map { $0 }), Set(firstEpoch), "every first-epoch batch computed")
        XCTAssertEqual(computed.count, firstEpoch.count, "each once")
        for batch in firstEpoch + secondEpoch { _ = try cache.values(for: batch, compute: compute) }
        XCTAssertEqual(computed.count, firstEpoch.count, "nothing computed again")
    }

    /// Trains 4 steps straight and 2 + 2 across an interruption (a checkpoint every 2 steps, accumulation 2),
    /// fresh model and objective each time, and returns the two output directories (removed at tear-down).
    func straightAndResumed(lora: JSONObject, objective: @escaping () -> TrainingObjective) throws -> (String, String) {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        func trainer(_ dir: String) throws -> Trainer {
            let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
            let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(lora))
            var args = TrainingArguments()
            args.outputDir = dir
            (args.learningRate, args.batchSize, args.gradientAccumulation, args.maxSteps, args.saveSteps) = (5e-3, 1, 2, 4, 2)
            let t = try Trainer(adapted: try AdaptedModel(model: model, method: method), args: args, train: [], padID: 0, baseModel: "tiny",
                                objective: objective())
            t.print = { _ in }
            return t
        }
        let base = NSTemporaryDirectory() + "factory-resume-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: base) }
        try trainer(base + "/straight").run()
        let first = try trainer(base + "/interrupted")
        first.stopAfter = 2
        XCTAssertEqual(try first.run().steps, 2)
        XCTAssertEqual(try trainer(base + "/interrupted").run().steps, 4)
        return (base + "/straight", base + "/interrupted")
    }

    func assertSameFiles(_ a: String, _ b: String, _ files: [String]) throws {
        for file in files {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + file)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + file))
            XCTAssertEqual(x, y, "the resumed \(file) differs from the uninterrupted one")
        }
    }

    /// A dpo run interrupted after a checkpoint and resumed saves the same adapter, byte for byte, as the
    /// run that went straight through (the reference pass, dropout, ld_alpha and batch order all replay).
    /// Its 4 pairs make 2 epochs: the straight run reads the second epoch's reference values from the
    /// cache, the resumed one computes them again from the first epoch's batches.
    func testAnInterruptedDPORunResumesBitIdentically() throws {
        let (straight, resumed) = try straightAndResumed(lora: JSONObject([("lora_target", .string("all")), ("lora_dropout", .double(0.1))])) {
            .preference(PreferenceData(train: self.pairs(), eval: [], settings: PreferenceSettings(), ldAlpha: 0.5))
        }
        try assertSameFiles(straight, resumed, ["adapter_model.safetensors"])
    }

    /// The same for stage rm, whose value head and its moments live apart from the adapter: adapter and
    /// value_head.safetensors equal, byte for byte (the head's dropout on).
    func testAnInterruptedRewardRunResumesBitIdentically() throws {
        let (straight, resumed) = try straightAndResumed(lora: JSONObject([("lora_target", .string("all"))])) {
            .reward(RewardData(train: self.pairs(), eval: [], valueHead: ValueHead(hidden: 64, seed: 7)))
        }
        try assertSameFiles(straight, resumed, ["adapter_model.safetensors", "value_head.safetensors"])
        let trained = try XCTUnwrap(try ValueHead.load(from: straight, hidden: 64))
        XCTAssertNotEqual(ValueHead(hidden: 64, seed: 7).weight.values, trained.weight.values, "the head trained")
    }
}
