import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
@testable import FactoryTraining
import Foundation

/// What the tests against TRL's and LLaMA-Factory's references share: their fixtures' id rows, and a short
/// run as the generators train (LoRA from a saved adapter, AdamW at a constant rate, clipping at 1, no weight
/// decay, the examples in order, no checkpoints), returning every step's record.
enum ReferenceRuns {
    static func json(_ path: String) throws -> JSON { try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))) }

    static func ints(_ j: JSON?) -> [Int] { (j?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }

    /// prompt + answer, the prompt unlabelled.
    static func example(prompt: [Int], answer: [Int]) -> EncodedExample {
        EncodedExample(inputIDs: prompt + answer, labels: [Int](repeating: -100, count: prompt.count) + answer)
    }

    /// A fixture's {prompt, chosen, rejected} rows.
    static func pairs(_ rows: JSON?) -> [PairwiseExample] {
        (rows?.arrayValue ?? []).map { p in
            let prompt = ints(p["prompt"])
            return PairwiseExample(chosen: example(prompt: prompt, answer: ints(p["chosen"])), rejected: example(prompt: prompt, answer: ints(p["rejected"])))
        }
    }

    /// `steps` steps of `batch` examples on `model` with the LoRA of `lora` loaded from `adapter` (or, with
    /// `method`, that fine-tuning method configured by `lora`; no adapter when `adapter` is nil).
    static func run(_ model: LoadedModel, method name: String = "lora", lora: JSONObject, adapter: String?, plugins: PluginSet, learningRate: Double,
                    batch: Int, steps: Int, padID: Int, objective: (AdaptedModel) throws -> TrainingObjective) throws -> [StepRecord] {
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup(name), config: .object(lora))
        let adapted = try AdaptedModel(model: model, method: method, adapterDirectory: adapter)
        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-reference-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (learningRate, batch, steps, 1, .constant)
        (args.weightDecay, args.disableShuffling, args.saveCheckpoints) = (0, true, false)
        let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: padID, baseModel: "reference", objective: try objective(adapted))
        trainer.print = { _ in }
        var records: [StepRecord] = []
        trainer.onStep = { records.append($0) }
        try trainer.run()
        return records
    }
}
