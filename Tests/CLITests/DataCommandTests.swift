import Foundation
import XCTest

/// `factory template render` and `factory data check` on the demo config.
final class DataCommandTests: XCTestCase {
    func testTemplateRenderShowsTextIdsAndTrainableTokens() throws {
        let dir = try CLI.temporaryDirectory()
        try #"[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]"#.write(toFile: dir + "/m.json", atomically: true, encoding: .utf8)
        let r = try CLI.run(["template", "render", "--template", "smollm2", "--messages", dir + "/m.json", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        let text = try XCTUnwrap(root["text"] as? String)
        XCTAssertTrue(text.hasPrefix("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"))
        XCTAssertTrue(text.hasSuffix("<|im_start|>assistant\nHello!<|im_end|>\n"))
        let ids = try XCTUnwrap(root["ids"] as? [Int]), trainable = try XCTUnwrap(root["trainable"] as? [Bool])
        XCTAssertEqual(ids.count, trainable.count)
        XCTAssertEqual(Array(ids.suffix(4)), [19556, 17, 2, 198])  // "Hello" "!" <|im_end|> "\n"
        XCTAssertEqual(Array(trainable.suffix(4)), [true, true, true, true])
        XCTAssertFalse(trainable.prefix(ids.count - 4).contains(true))
    }

    func testDataCheckReportsCountsAndMarksTrainedTokens() throws {
        let r = try CLI.run(["data", "check", "examples/smollm2_lora_sft.yaml", "--samples", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("train rows 44, eval rows 0, skipped 0, cut by cutoff_len 0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("length histogram:"), r.stdout)
        XCTAssertTrue(r.stdout.contains("<|im_start|>assistant\n«"), r.stdout)
        let packed = try CLI.run(["data", "check", "examples/smollm2_lora_sft.yaml", "neat_packing=true", "cutoff_len=512", "--samples", "0"])
        XCTAssertEqual(packed.status, 0, packed.stderr)
        XCTAssertTrue(packed.stdout.contains("packed into 6 rows of 512 tokens"), packed.stdout)
    }

    func testABadRowIsOneLineNamingFileRowAndField() throws {
        let dir = try CLI.temporaryDirectory()
        try #"[{"instruction": "fine", "output": "ok"}, {"instruction": "missing output"}]"#.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        try #"{"bad": {"file_name": "bad.json"}}"#.write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        let args = ["data", "check", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2", "dataset=bad", "dataset_dir=\(dir)"]
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "factory: error: \(dir)/bad.json:2 output: missing\n")
        let skipped = try CLI.run(args + ["skip_bad_rows=true"])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stdout.hasPrefix("train rows 1, eval rows 0, skipped 1"), skipped.stdout)
    }
}

extension DataCommandTests {
    func testTemplateCheckAgainstTheModelsOwnTemplate() throws {
        let same = try CLI.run(["template", "check", "--template", "smollm2", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct"])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        XCTAssertTrue(same.stdout.hasSuffix("smollm2 vs the model's template: 8 same, 0 different\n"), same.stdout)
        // ChatML differs from SmolLM2's template only where SmolLM2 inserts its default system prompt.
        let chatml = try CLI.run(["template", "check", "--template", "chatml", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct"])
        XCTAssertEqual(chatml.status, 1)
        XCTAssertTrue(chatml.stdout.contains("SAME explicit system"), chatml.stdout)
        XCTAssertTrue(chatml.stdout.contains("DIFF single turn, generation prompt: first difference at token 1"), chatml.stdout)
        XCTAssertTrue(chatml.stdout.hasSuffix("chatml vs the model's template: 2 same, 6 different\n"), chatml.stdout)
    }
}
