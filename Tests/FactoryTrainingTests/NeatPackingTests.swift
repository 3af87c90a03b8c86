import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// neat_packing: two samples packed into one row train exactly like the same two samples as rows
/// of their own (attention stays inside each sample, positions restart), with the host's reference
/// attention and with each attention-kernel plugin.
final class NeatPackingTests: XCTestCase {
    /// One optimizer step: its loss, gradient norm and the gradients (compared instead of the updated
    /// weights: AdamW's first step moves every weight by about ±lr whatever the gradient's size).
    func step(_ examples: [EncodedExample], kernel: String?, plugins: PluginSet) throws -> (loss: Double, gradNorm: Double, grads: [String: [Float]]) {
        if let kernel {
            try AttentionSelection.install(try plugins.registry(.attentionKernel).lookup(kernel))
        } else {
            AttentionSelection.uninstall()
        }
        defer { AttentionSelection.uninstall() }
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("full"))
        let adapted = try AdaptedModel(model: model, method: method)
        var args = TrainingArguments()
        args.outputDir = NSTemporaryDirectory() + "factory-neat-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
        args.learningRate = 1e-2
        args.batchSize = examples.count
        args.maxSteps = 1
        args.disableShuffling = true
        let trainer = try Trainer(adapted: adapted, args: args, train: examples, padID: 0, baseModel: "tiny")
        trainer.print = { _ in }
        var record: StepRecord?
        trainer.onStep = { record = $0 }
        var grads: [String: [Float]] = [:]
        trainer.onGradients = { _ in for p in adapted.trainable { grads[p.name] = p.tensor.grad?.values ?? [] } }
        try trainer.run()
        return (record?.loss ?? .nan, record?.gradNorm ?? .nan, grads)
    }

    func testPackedRowTrainsLikeSeparateRows() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let a = [5, 17, 42, 8, 99, 3], b = [11, 7, 64, 23, 5, 88, 31, 2, 9]
        let la = [-100, -100] + a.dropFirst(2), lb = [-100, -100, -100] + b.dropFirst(3)
        let separate = [EncodedExample(inputIDs: a, labels: la), EncodedExample(inputIDs: b, labels: lb)]
        let packedRow = Packer.pack(separate, cutoffLen: 18, padID: 0, neat: true)
        XCTAssertEqual(packedRow.count, 1)
        let packed = packedRow.map { EncodedExample(inputIDs: $0.inputIDs, labels: $0.labels, segments: $0.attentionMask, positionIDs: $0.positionIDs) }
        for kernel in [nil, "eager", "flash"] {
            let one = try step(separate, kernel: kernel, plugins: plugins), two = try step(packed, kernel: kernel, plugins: plugins)
            let label = kernel ?? "reference"
            XCTAssertEqual(one.loss, two.loss, accuracy: 1e-6 * max(1, one.loss), label)
            XCTAssertEqual(one.gradNorm, two.gradNorm, accuracy: 1e-5 * max(1, one.gradNorm), label)
            XCTAssertEqual(one.grads.count, two.grads.count)
            XCTAssertGreaterThan(one.grads.values.reduce(0) { $0 + $1.reduce(0) { $0 + abs($1) } }, 0, "no gradients captured")
            for (name, g) in one.grads {
                let h = try XCTUnwrap(two.grads[name])
                XCTAssertEqual(g.count, h.count, name)
                let worst = zip(g, h).map { abs($0 - $1) }.max() ?? 0, scale = g.map(abs).max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1e-3), "\(label): \(name)")
            }
            // and the mask matters: the same row without sample boundaries trains differently
            if kernel == "flash" {
                let crossing = packed.map { EncodedExample(inputIDs: $0.inputIDs, labels: $0.labels) }
                XCTAssertGreaterThan(abs(try step(crossing, kernel: kernel, plugins: plugins).loss - one.loss), 1e-4)
            }
        }
    }
}
