import FactoryData
import FactoryTraining
import Foundation

/// Runs a short training in a temporary output directory (removed afterwards) and returns the
/// step records and what the run saved, read before the directory goes.
enum TrainingHarness {
    static func run(_ adapted: AdaptedModel, _ examples: [EncodedExample], saved: [String] = [],
                    _ configure: (inout TrainingArguments) -> Void) throws -> (records: [StepRecord], files: [String: Data]) {
        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-harness-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        args.disableShuffling = true
        configure(&args)
        let trainer = try Trainer(adapted: adapted, args: args, train: examples, padID: 0, baseModel: "tiny")
        trainer.print = { _ in }
        var records: [StepRecord] = []
        trainer.onStep = { records.append($0) }
        try trainer.run()
        var files: [String: Data] = [:]
        for name in saved { files[name] = FileManager.default.contents(atPath: args.outputDir + "/" + name) }
        return (records, files)
    }
}
