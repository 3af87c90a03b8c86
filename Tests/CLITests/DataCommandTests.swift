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

/// LLaMA-Factory's dataset kinds beyond conversations: pre-training text, ranking pairs, and what is refused.
extension DataCommandTests {
    /// A dataset directory with LLaMA-Factory-style entries.
    func datasets() throws -> String {
        let dir = try CLI.temporaryDirectory()
        // .txt: one document per line, as the datasets library's text loader reads it (an empty line is a document too)
        try "第一行：你好，世界。\nSecond document.\n\nFourth, after an empty line\n".write(toFile: dir + "/wiki.txt", atomically: true, encoding: .utf8)
        try #"{"text": "A c4-style document."}"#.write(toFile: dir + "/c4.jsonl", atomically: true, encoding: .utf8)
        try #"[{"instruction": "用中文打招呼", "output": "你好，世界！🙂"}]"#.write(toFile: dir + "/zh.json", atomically: true, encoding: .utf8)
        try #"""
            [{"conversations": [{"from": "human", "value": "2+2?"}], "chosen": {"from": "gpt", "value": "4"}, "rejected": {"from": "gpt", "value": "5"}},
             {"conversations": [{"from": "human", "value": "Capital of France?"}], "chosen": {"from": "gpt", "value": "Paris"}, "rejected": {"from": "gpt", "value": "Rome"}}]
            """#.write(toFile: dir + "/pairs.json", atomically: true, encoding: .utf8)
        try #"[{"messages": [{"role": "user", "content": "<image>What is this?"}, {"role": "assistant", "content": "A cat."}], "images": ["cat.jpg"]}]"#
            .write(toFile: dir + "/mllm.json", atomically: true, encoding: .utf8)
        try #"""
            [{"conversations": [{"from": "human", "value": "Weather in Paris?"}, {"from": "function_call", "value": "{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}"},
                                {"from": "observation", "value": "{\"temp\": 20}"}, {"from": "gpt", "value": "20 degrees."}],
              "tools": "[{\"name\": \"weather\", \"description\": \"Weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}]"}]
            """#.write(toFile: dir + "/tools.json", atomically: true, encoding: .utf8)
        try #"""
            {"wiki": {"file_name": "wiki.txt", "columns": {"prompt": "text"}}, "c4": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}},
             "zh": {"file_name": "zh.json"},
             "pairs": {"file_name": "pairs.json", "ranking": true, "formatting": "sharegpt", "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
             "mllm": {"file_name": "mllm.json", "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
                      "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
             "tools": {"file_name": "tools.json", "formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}}}
            """#.write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        return dir
    }

    func check(_ dir: String, _ args: [String]) throws -> CLI.Result {
        try CLI.run(["data", "check", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "dataset_dir=\(dir)"] + args)
    }

    func testPretrainingTextAndJSONLinesNeedNoTemplate() throws {
        let dir = try datasets()
        // five documents (the empty line is one), each followed by EOS (SmolLM2-Instruct's is <|im_end|>); packed, the remainder shorter than a block is
        // dropped as LLaMA-Factory drops it, so these few tokens make no block of 2048
        let packed = try check(dir, ["stage=pt", "dataset=wiki,c4"])
        XCTAssertEqual(packed.status, 0, packed.stderr)
        XCTAssertTrue(packed.stdout.hasPrefix("stage pt: 0 rows (documents joined and cut into blocks of cutoff_len 2048; a shorter remainder is dropped)"), packed.stdout)
        let r = try check(dir, ["stage=pt", "dataset=wiki,c4", "packing=false", "--samples", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("stage pt: 5 rows (one document each"), r.stdout)
        for document in ["第一行：你好，世界。", "Second document.", "", "Fourth, after an empty line", "A c4-style document."] {
            XCTAssertTrue(r.stdout.contains("---\n" + document + "<|im_end|>\n"), document + " in " + r.stdout)  // the tokenizer's EOS
        }
        XCTAssertFalse(r.stdout.contains("\u{FFFD}"), r.stdout)
    }

    func testMultiByteTextPrintsIntact() throws {
        let r = try check(try datasets(), ["template=smollm2", "dataset=zh", "--samples", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("用中文打招呼"), r.stdout)
        XCTAssertTrue(r.stdout.contains("«你好，世界！🙂<|im_end|>"), r.stdout)
        XCTAssertFalse(r.stdout.contains("\u{FFFD}"), r.stdout)
    }

    func testRankingDataIsReportedAsPairsAndNotTrainedAsConversations() throws {
        let dir = try datasets()
        let r = try check(dir, ["template=smollm2", "dataset=pairs", "--samples", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("ranking data: 2 pairs (chosen/rejected)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("chosen:   "), r.stdout)
        XCTAssertTrue(r.stdout.contains("«4<|im_end|>"), r.stdout)
        XCTAssertTrue(r.stdout.contains("«5<|im_end|>"), r.stdout)
        let sft = try CLI.run(["run", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2", "dataset=pairs", "dataset_dir=\(dir)",
                               "output_dir=\(dir)/out", "max_steps=1"])
        XCTAssertEqual(sft.status, 1)
        XCTAssertTrue(sft.stderr.contains("dataset 'pairs' is a ranking dataset (chosen/rejected pairs): stage sft trains on conversations"), sft.stderr)
        XCTAssertEqual(sft.stderr.filter { $0 == "\n" }.count, 1, sft.stderr)
    }

    func testMultimodalDataIsRefusedAndToolCallsNeedATemplateWithAToolFormat() throws {
        let dir = try datasets()
        let mllm = try check(dir, ["template=smollm2", "dataset=mllm"])
        XCTAssertEqual(mllm.status, 1)
        XCTAssertEqual(mllm.stderr, "factory: error: \(dir)/dataset_info.json: dataset 'mllm': columns.images — multimodal data is refused: no multimodal model family exists yet (its <image>/<video>/<audio> placeholders would be trained as text)\n")
        // tool calls: a template with its family's tool format renders them (Qwen's <tools> and <tool_call>), calls learned
        let qwen = try check(dir, ["template=qwen", "dataset=tools", "--samples", "1"])
        XCTAssertEqual(qwen.status, 0, qwen.stderr)
        XCTAssertTrue(qwen.stdout.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"weather\""), qwen.stdout)
        XCTAssertTrue(qwen.stdout.contains("«<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n»"), qwen.stdout)
        XCTAssertTrue(qwen.stdout.contains("<|im_start|>user\n<tool_response>\n{\"temp\": 20}\n</tool_response><|im_end|>"), qwen.stdout)
        // one without a tool format (gemma's is not implemented) refuses the row, never trains it without its tools
        let tools = try check(dir, ["template=gemma", "allow_template_mismatch=true", "dataset=tools"])
        XCTAssertEqual(tools.status, 1)
        XCTAssertTrue(tools.stderr.hasPrefix("factory: error: \(dir)/tools.json:1: the gemma template refused the row"), tools.stderr)
        XCTAssertTrue(tools.stderr.contains("this template has no tool format yet; tools are refused rather than left out"), tools.stderr)
        XCTAssertEqual(tools.stderr.filter { $0 == "\n" }.count, 1, tools.stderr)
    }
}
