import FactoryData
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation
import XCTest

/// PEFT adapters that use adapter_config.json's less common keys (Fixtures/peft_adapters, made by
/// generate.py there): modules_to_save (tied and untied heads, embeddings, "norm" by suffix,
/// ensure_weight_tying), rank_pattern / alpha_pattern (with rsLoRA and DoRA), layers_to_transform /
/// layers_pattern, regex target_modules, exclude_modules, fan_in_fan_out, bias all / lora_only.
/// Each is loaded as `adapter_name_or_path` loads it and must give PEFT's loss; trained one step
/// further, it must save the tensors PEFT saved. Keys Factory cannot apply are refused in one line.
final class PEFTAdapterTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/peft_adapters"

    struct Case {
        let name: String, family: String, loss: Double, baseLoss: Double, saved: Set<String>
    }

    func reference() throws -> (examples: [EncodedExample], cases: [Case]) {
        let json = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/reference.json"))))
        let rows = (json["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        let examples = rows.map { r in EncodedExample(inputIDs: r, labels: [Int](repeating: -100, count: 4) + Array(r.dropFirst(4))) }
        let cases = (json["cases"]?.objectValue?.pairs ?? []).map { name, c in
            Case(name: name, family: c["family"]?.stringValue ?? "", loss: c["loss"]?.doubleValue ?? .nan, baseLoss: c["base_loss"]?.doubleValue ?? .nan,
                 saved: Set((c["saved"]?.arrayValue ?? []).compactMap(\.stringValue)))
        }
        XCTAssertEqual(cases.count, 16)
        return (examples, cases)
    }

    /// The adapter of `dir` on its tiny model, as adapter_name_or_path applies it (the method and config read from the directory).
    func load(_ dir: String, family: String, plugins: PluginSet) throws -> AdaptedModel {
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/" + family, plugins: plugins)
        let (component, config) = try AdapterLoading.methodConfig(adapterDirectory: dir, plugins: plugins)
        return try AdaptedModel(model: model, method: try FinetuningMethodInstance(component, config: .object(config)), adapterDirectory: dir)
    }

    func testEveryAdapterGivesPEFTsLossAndSavesPEFTsTensors() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let (examples, cases) = try reference()
        var worst = 0.0
        defer { print("PEFT adapters: \(cases.count) cases, worst loss difference \(worst)") }
        for c in cases {
            let adapted = try load(Self.here + "/" + c.name, family: c.family, plugins: plugins)
            let run = try TrainingHarness.run(adapted, examples, saved: ["adapter_model.safetensors", "adapter_config.json"]) { args in
                (args.learningRate, args.batchSize, args.maxSteps, args.maxGradNorm, args.schedule) = (1e-3, 3, 1, 0, .constant)
            }
            let loss = try XCTUnwrap(run.records.first?.loss, c.name)
            // every case moves the loss away from the base model's, so a dropped part shows
            XCTAssertGreaterThan(abs(c.loss - c.baseLoss), 1e-3, "\(c.name): the fixture should change the loss")
            XCTAssertEqual(loss, c.loss, accuracy: 2e-5, "\(c.name): loss with the adapter")
            worst = max(worst, abs(loss - c.loss))
            let path = NSTemporaryDirectory() + "factory-peft-\(getpid())-\(c.name).safetensors"
            try XCTUnwrap(run.files["adapter_model.safetensors"], c.name).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let saved = Set(try SafetensorsFile(path: path).tensors.keys)
            XCTAssertEqual(saved, c.saved, "\(c.name): the tensor names PEFT saves")
            // the selection keys go back into the saved adapter_config.json as they came
            let written = try JSON.parse(bytes: [UInt8](try XCTUnwrap(run.files["adapter_config.json"])))
            let original = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/\(c.name)/adapter_config.json"))))
            for key in ["target_modules", "modules_to_save", "bias", "rank_pattern", "alpha_pattern", "layers_to_transform", "layers_pattern",
                        "exclude_modules", "use_rslora", "use_dora", "ensure_weight_tying"] {
                XCTAssertEqual(written[key] ?? .null, original[key] ?? .null, "\(c.name): adapter_config \(key)")
            }
        }
    }

    func testTiedHeadInModulesToSaveGetsItsOwnCopy() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let adapted = try load(Self.here + "/qwen2_tied_lm_head", family: "qwen2", plugins: plugins)
        let store = adapted.model.parameters
        let head = try XCTUnwrap(store["lm_head.weight"]), embed = try XCTUnwrap(store["model.embed_tokens.weight"])
        XCTAssertFalse(head === embed, "PEFT's modules_to_save copies the head: the tie is broken")
        let base = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/qwen2", plugins: plugins)
        XCTAssertEqual(embed.values, try XCTUnwrap(base.parameters["model.embed_tokens.weight"]).values, "the embeddings stay the base model's")
        XCTAssertNotEqual(head.values, embed.values)
    }

    /// A copy of `case` with adapter_config.json edited by `edit`.
    func edited(_ name: String, _ edit: (inout JSONObject) -> Void) throws -> String {
        let dir = NSTemporaryDirectory() + "factory-peft-edit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.here + "/\(name)/adapter_model.safetensors", toPath: dir + "/adapter_model.safetensors")
        var config = try XCTUnwrap(try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.here + "/\(name)/adapter_config.json")))).objectValue)
        edit(&config)
        try Data(JSON.object(config).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/adapter_config.json"))
        return dir
    }

    func testWhatPEFTCanExpressAndFactoryCannotApplyIsRefusedNamingTheKey() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let refusals: [(String, (inout JSONObject) -> Void, String)] = [
            ("llama_lm_head", { $0["trainable_token_indices"] = [1, 2] }, "adapter_config.json trainable_token_indices: [1,2]"),
            ("llama_lm_head", { $0["megatron_config"] = ["tensor_model_parallel_size": 2] }, "adapter_config.json megatron_config"),
            ("llama_lm_head", { $0["lora_bias"] = true }, "adapter_config.json lora_bias: true"),
            ("llama_lm_head", { $0["layer_replication"] = [[0, 2]] }, "adapter_config.json layer_replication"),
            ("llama_lm_head", { $0["a_future_peft_key"] = 3 }, "adapter_config.json a_future_peft_key: 3"),
            ("llama_lm_head", { $0["init_lora_weights"] = "pissa_niter_4" }, "adapter_config.json init_lora_weights: 'pissa_niter_4'"),
            ("llama_lm_head", { $0["task_type"] = "SEQ_CLS" }, "adapter_config.json task_type: SEQ_CLS"),
            ("llama_lm_head", { $0["bias"] = "some" }, "bias must be none, all or lora_only"),
            ("llama_lm_head", { $0["modules_to_save"] = ["lm_haed"] }, "additional_target (modules_to_save) 'lm_haed' matches no module"),
            ("llama_regex", { $0["target_modules"] = "(unclosed" }, "target_modules '(unclosed' is not a regular expression"),
            // a tensor the config does not account for is never dropped (PEFT warns of an unexpected key and drops it)
            ("qwen2_bias_all", { $0["bias"] = "none" }, "tensor 'base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias' is neither part"),
        ]
        for (name, edit, expected) in refusals {
            let dir = try edited(name, edit)
            XCTAssertThrowsError(try load(dir, family: name.hasPrefix("qwen2") ? "qwen2" : "llama", plugins: plugins), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(expected) — got: \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)")
            }
        }
        // the fields a feature leaves at its empty default are fine, and so are the initialisation-only ones
        let accepted = try edited("llama_lm_head") { $0["eva_config"] = ["rho": 2.0]; $0["init_lora_weights"] = "gaussian"; $0["use_bdlora"] = .null }
        XCTAssertNoThrow(try load(accepted, family: "llama", plugins: plugins))
    }

    func testModulesToSaveMatchesBySuffixAsPEFTDoes() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let model = try LoadedModel.load(TinyTrainingTests.shared + "/fixtures/tiny/llama", plugins: plugins)
        let config = JSONObject([("lora_target", "q_proj"), ("additional_target", "norm")])
        let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"), config: .object(config))
        let adapted = try AdaptedModel(model: model, method: method)
        let trained = Set(adapted.trainable.map(\.name).filter { !$0.contains("lora_") })
        var expected: Set<String> = ["model.norm.weight"]
        for l in 0..<2 { expected.formUnion(["model.layers.\(l).input_layernorm.weight", "model.layers.\(l).post_attention_layernorm.weight"]) }
        XCTAssertEqual(trained, expected)
    }
}
