import FactoryData
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// DoRA (use_dora) on the tiny Llama against PEFT: the same initial adapter (Fixtures/tiny_dora,
/// made by generate.py there, with non-zero B so every DoRA term counts), 4 AdamW steps on one batch:
/// the loss at every step and the final adapter (A, B and the magnitude vectors, PEFT's names).
final class DoRATests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_dora"

    func testFourStepsReproducePEFT() throws {
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/reference.json"))))
        let rows = (reference["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let examples = rows.map { r in EncodedExample(inputIDs: r, labels: [Int](repeating: -100, count: 4) + Array(r.dropFirst(4))) }
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let config = JSONObject([("lora_rank", 4), ("lora_alpha", 8), ("lora_target", "q_proj,v_proj"), ("use_dora", true)])
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
        let adapted = try AdaptedModel(model: model, method: method, adapterDirectory: Self.here + "/initial")
        let run = try TrainingHarness.run(adapted, examples, saved: ["adapter_model.safetensors", "adapter_config.json"]) { args in
            (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (1e-2, 3, 4, 0, .constant)
        }
        let losses = run.records.map(\.loss)
        let expected = (reference["history"]?.arrayValue ?? []).compactMap { $0["loss"]?.doubleValue }
        XCTAssertEqual(losses.count, 4)
        for (i, (a, b)) in zip(losses, expected).enumerated() { XCTAssertEqual(a, b, accuracy: 2e-5, "loss at step \(i + 1)") }
        let final = try SafetensorsFile(path: Self.here + "/final/adapter_model.safetensors")
        let savedPath = NSTemporaryDirectory() + "factory-dora-\(getpid()).safetensors"
        try XCTUnwrap(run.files["adapter_model.safetensors"]).write(to: URL(fileURLWithPath: savedPath))
        defer { try? FileManager.default.removeItem(atPath: savedPath) }
        let saved = try SafetensorsFile(path: savedPath)
        XCTAssertEqual(Set(saved.tensors.keys), Set(final.tensors.keys), "PEFT's tensor names, magnitude vectors included")
        for name in final.tensors.keys.sorted() {
            let want = try final.float32(name), got = try saved.float32(name)
            let diff = zip(want, got).map { abs($0 - $1) }.max() ?? 0, scale = want.map(abs).max() ?? 1
            XCTAssertLessThan(diff / scale, 1e-4, name)
        }
        let config2 = try JSON.parse(bytes: [UInt8](try XCTUnwrap(run.files["adapter_config.json"])))
        XCTAssertEqual(config2["use_dora"]?.boolValue, true)
    }
}
