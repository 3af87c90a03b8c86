import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// QLoRA on the tiny Llama: the base kept packed by the nf4 plugin (its linears multiply through
/// packed tiles, also in checkpoint replays) trains exactly like LoRA on a dense copy of the same
/// dequantized weights; and the packed base holds ~0.56 bytes per linear parameter.
final class QLoRATests: XCTestCase {
    func train(_ model: LoadedModel, plugins: PluginSet) throws -> ([Double], [String: [Float]]) {
        let examples = (0..<4).map { i in
            let ids = (0..<(8 + i)).map { (i * 17 + $0 * 3) % 500 + 3 }
            return EncodedExample(inputIDs: ids, labels: [-100, -100] + Array(ids.dropFirst(2)))
        }
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"),
                                                  config: .object(JSONObject([("lora_rank", 4), ("lora_target", "all"), ("lora_dropout", 0.1)])))
        let adapted = try AdaptedModel(model: model, method: method)
        let losses = try TrainingHarness.run(adapted, examples) { args in
            (args.learningRate, args.batchSize, args.maxSteps) = (1e-2, 2, 4)
        }.records.map(\.loss)
        var tensors: [String: [Float]] = [:]
        for t in adapted.trainable { tensors[t.name] = t.tensor.values }
        return (losses, tensors)
    }

    func testPackedBaseTrainsLikeItsDequantizedDenseCopy() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let nf4 = try QuantizerInstance(try plugins.registry(.quantizer).lookup("nf4"))
        let path = TinyTrainingTests.shared + "/fixtures/tiny/llama"

        let packedModel = try LoadedModel.load(path, plugins: plugins, quantizer: nf4)  // packed as the family registers each weight
        let report = try XCTUnwrap(packedModel.packReport)
        XCTAssertEqual(report.weights, packedModel.layers * 7, "q, k, v, o, gate, up, down of every layer")
        XCTAssertEqual(Double(report.packedBytes) / Double(report.parameters), 0.5625, accuracy: 1e-9)
        XCTAssertNil(packedModel.parameters["model.layers.0.self_attn.q_proj.weight"], "the fp32 copy is dropped")

        let denseModel = try LoadedModel.load(path, plugins: plugins)
        let applied = try LoadedModel.load(path, plugins: plugins)
        XCTAssertEqual(try QuantizedBase.apply(applied, quantizer: nf4).packedBytes, report.packedBytes, "packing after loading packs the same")
        for (name, weight) in packedModel.parameters.packed { denseModel.parameters[name] = try weight.unpacked() }

        let (packedLosses, packedTensors) = try train(packedModel, plugins: plugins)
        let (denseLosses, denseTensors) = try train(denseModel, plugins: plugins)
        XCTAssertEqual(packedLosses.count, 4)
        for (a, b) in zip(packedLosses, denseLosses) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(packedLosses[0] - packedLosses[3], 0.01, "it learns")
        for (name, a) in denseTensors {
            let b = try XCTUnwrap(packedTensors[name])
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-4, name)
        }
    }
}
