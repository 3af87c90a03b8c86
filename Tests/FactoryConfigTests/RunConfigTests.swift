import FactoryConfig
import Foundation
import XCTest

/// LLaMA-Factory's YAML keys load with their types; every mistake is one line naming the file, line and key.
final class RunConfigTests: XCTestCase {
    func write(_ yaml: String) throws -> String {
        let path = NSTemporaryDirectory() + "factory-config-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func error(_ yaml: String, overrides: [String] = []) throws -> (String, String) {
        let path = try write(yaml)
        do {
            _ = try RunConfig.load(file: path, overrides: overrides)
            XCTFail("config loaded but should not have")
            return (path, "")
        } catch {
            return (path, "\(error)")
        }
    }

    func testLoadsLLaMAFactoryKeysWithTheirTypes() throws {
        let path = try write("""
            ### model
            model_name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct
            stage: sft
            do_train: true
            lora_rank: 8
            lora_target: q_proj, v_proj
            dataset: [alpaca_en_demo, identity]
            learning_rate: 1e-4
            num_train_epochs: 3
            quantization_bit: ~
            """)
        let c = try RunConfig.load(file: path)
        XCTAssertEqual(c.string("model_name_or_path"), "HuggingFaceTB/SmolLM2-135M-Instruct")
        XCTAssertEqual(c.bool("do_train"), true)
        XCTAssertEqual(c.int("lora_rank"), 8)
        XCTAssertEqual(c.list("lora_target"), ["q_proj", "v_proj"])
        XCTAssertEqual(c.list("dataset"), ["alpaca_en_demo", "identity"])
        XCTAssertEqual(c.double("learning_rate"), 1e-4)
        XCTAssertEqual(c.double("num_train_epochs"), 3)
        XCTAssertNil(c.values["quantization_bit"], "null leaves a key unset")
        // an `any` key keeps its YAML as JSON
        var any = RunConfig()
        try any.apply(key: "lr_scheduler_kwargs", text: "{type: linear, factor: 2.0}", origin: "test")
        XCTAssertEqual(any.values["lr_scheduler_kwargs"]?.description, #"{"type":"linear","factor":2.0}"#)
        // rope_scaling is LLaMA-Factory's name of a strategy, not transformers' mapping
        XCTAssertThrowsError(try RunConfig.load(file: nil, overrides: ["rope_scaling={type: linear, factor: 2.0}"]))
        XCTAssertEqual(try RunConfig.load(file: nil, overrides: ["rope_scaling=yarn"]).string("rope_scaling"), "yarn")
    }

    func testOverridesWinAndAreTyped() throws {
        let path = try write("lora_rank: 8\ntemplate: chatml\n")
        let c = try RunConfig.load(file: path, overrides: ["lora_rank=16", "lora_target=all", "learning_rate=5.0e-5"])
        XCTAssertEqual(c.int("lora_rank"), 16)
        XCTAssertEqual(c.list("lora_target"), ["all"])
        XCTAssertEqual(c.double("learning_rate"), 5e-5)
        XCTAssertEqual(c.string("template"), "chatml")
    }

    func testAnUnknownKeyNamesFileLineAndTheNearestKey() throws {
        let (path, message) = try error("stage: sft\nlora_rnak: 8\n")
        XCTAssertEqual(message, "\(path):2: unknown key 'lora_rnak' (did you mean 'lora_rank'?)")
    }

    func testAnUnknownKeyFarFromAnyKnownOneGivesNoGuess() throws {
        let (_, message) = try error("completely_unrelated_setting_name: 1\n")
        XCTAssertTrue(message.hasSuffix("unknown key 'completely_unrelated_setting_name' (`factory config keys` lists the known keys)"), message)
    }

    func testAWrongTypeNamesKeyExpectedTypeAndValue() throws {
        let (path, message) = try error("learning_rate: fast\n")
        XCTAssertEqual(message, "\(path):1: 'learning_rate' expects a number, got 'fast'")
        let (path2, message2) = try error("stage: sft\ndo_train: maybe\n")
        XCTAssertEqual(message2, "\(path2):2: 'do_train' expects a boolean (true/false), got 'maybe'")
        let (_, message3) = try error("lora_rank: 8.5\n")
        XCTAssertTrue(message3.hasSuffix("'lora_rank' expects an integer, got '8.5'"), message3)
    }

    func testAWrongTypeInAnOverrideNamesTheOverride() throws {
        let (_, message) = try error("stage: sft\n", overrides: ["lora_rank=big"])
        XCTAssertEqual(message, "override 'lora_rank=big': 'lora_rank' expects an integer, got 'big'")
        let (_, message2) = try error("stage: sft\n", overrides: ["lora_rank"])
        XCTAssertEqual(message2, "override 'lora_rank': expected key=value")
    }

    func testMalformedYAMLNamesTheLine() throws {
        let (path, message) = try error("stage: sft\nlora_target: [q_proj, v_proj\nlora_rank: 8\n")
        XCTAssertTrue(message.hasPrefix("\(path):"), message)
        XCTAssertTrue(message.contains("malformed YAML"), message)
        XCTAssertFalse(message.contains("\n"))
    }

    func testADuplicateKeyIsAnError() throws {
        let (path, message) = try error("lora_rank: 8\nstage: sft\nlora_rank: 16\n")
        XCTAssertEqual(message, "\(path):3: duplicate key 'lora_rank' (first on line 1)")
    }

    func testTheTopLevelMustBeAMapping() throws {
        let (path, message) = try error("- a\n- b\n")
        XCTAssertEqual(message, "\(path):1: the config must be a mapping of keys to values")
    }

    func testAMissingFileIsNamed() throws {
        XCTAssertThrowsError(try RunConfig.load(file: "/nonexistent/config.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/config.yaml:"), "\(error)")
        }
    }

    func testTheDemoConfigLoads() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = try RunConfig.load(file: repo.path + "/examples/smollm2_lora_sft.yaml")
        XCTAssertEqual(c.string("finetuning_type"), "lora")
        XCTAssertEqual(c.list("lora_target"), ["all"])
    }
}
