import Foundation
import XCTest

/// add_tokens / add_special_tokens / resize_vocab (LLaMA-Factory's keys) from training to export: the tokens
/// join the tokenizer at the next ids, the embeddings and the untied head grow to a multiple of 64, LoRA trains
/// them whole; the adapter's tokenizer, a merged export's config.json, weights and tokenizer, and a GGUF written
/// from it all agree on the vocabulary, and transformers loads the export with Factory's logits on the new ids.
final class VocabularyChangeTests: XCTestCase {
    static let shared = ExportCommandTests.shared
    static let model = shared + "/fixtures/tiny/llama"  // 512 tokens, an untied head of 512 rows
    static let keys = ["add_special_tokens=<|tool|>,<|think|>", "add_tokens=zebra_crossing"]

    func json(_ text: String) throws -> [String: Any] {
        try CLI.json(text.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any] ?? [:]
    }

    func testAddedTokensTrainMergeAndExportConsistently() throws {
        let dir = try CLI.temporaryDirectory()
        let train = try CLI.run(["run", "model_name_or_path=\(Self.model)", "template=chatml", "allow_template_mismatch=true", "dataset=factory_demo",
                                 "dataset_dir=examples/data", "cutoff_len=64", "max_steps=2", "per_device_train_batch_size=2", "learning_rate=1e-2",
                                 "lora_target=all", "plot_loss=false", "output_dir=\(dir)/lora"] + Self.keys)
        XCTAssertEqual(train.status, 0, train.stderr)
        let said = train.stdout + train.stderr
        XCTAssertTrue(said.contains("vocabulary: added 3 token(s): zebra_crossing, <|tool|>, <|think|>; resize_vocab turned on"), said)
        XCTAssertTrue(said.contains("embeddings 512 → 576 rows"), said)
        XCTAssertTrue(said.contains("vocabulary resized: embed_tokens, lm_head trained whole (additional_target)"), said)

        // the adapter: modules_to_save holds the grown embeddings and head; its tokenizer lists the new tokens
        let tokenizer = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/lora/tokenizer.json"))) as? [String: Any] ?? [:]
        let added = (tokenizer["added_tokens"] as? [[String: Any]] ?? []).filter { ($0["id"] as? Int ?? 0) >= 512 }
        XCTAssertEqual(added.map { $0["content"] as? String ?? "" }, ["zebra_crossing", "<|tool|>", "<|think|>"])
        XCTAssertEqual(added.map { $0["special"] as? Bool ?? true }, [false, true, true])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/lora/adapter_config.json"))) as? [String: Any] ?? [:]
        XCTAssertEqual(Set(config["modules_to_save"] as? [String] ?? []), ["embed_tokens", "lm_head"])

        // the tokenizer with the keys gives the new ids; without them the adapter does not fit and says why
        let ids = try json(try CLI.run(["tokenize", "model_name_or_path=\(Self.model)", "--text", "<|tool|>hi zebra_crossing", "--json"] + Self.keys).stdout)["ids"] as? [Int]
        XCTAssertEqual(ids?.first, 513)
        XCTAssertTrue(ids?.contains(512) == true, "\(ids ?? [])")
        let without = try CLI.run(["score", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(dir)/lora", "--ids", "1,2,3"])
        XCTAssertNotEqual(without.status, 0)
        XCTAssertTrue(without.stderr.contains("576"), without.stderr)

        // merged export: 576 rows everywhere, the tokens in the tokenizer, Factory's logits on the new ids in transformers
        let export = try CLI.run(["export", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(dir)/lora", "export_dir=\(dir)/hf",
                                  "infer_dtype=float32"] + Self.keys)
        XCTAssertEqual(export.status, 0, export.stderr)
        let exported = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/hf/config.json"))) as? [String: Any] ?? [:]
        XCTAssertEqual(exported["vocab_size"] as? Int, 576)
        let probe = "1,513,17,512,514,42,5"
        let score = try CLI.run(["score", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(dir)/lora", "--ids", probe,
                                 "--dump-logits", dir + "/factory.bin"] + Self.keys)
        XCTAssertEqual(score.status, 0, score.stderr)
        let reread = try CLI.run(["score", "model_name_or_path=\(dir)/hf", "--ids", probe, "--dump-logits", dir + "/reread.bin"])
        XCTAssertEqual(reread.status, 0, reread.stderr)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/factory.bin")), b = try Data(contentsOf: URL(fileURLWithPath: dir + "/reread.bin"))
        XCTAssertEqual(a.count, 7 * 576 * 4, "logits over 576 ids")
        XCTAssertEqual(b.count, a.count)
        let merged = a.withUnsafeBytes { x in b.withUnsafeBytes { y in
            zip(x.bindMemory(to: Float.self), y.bindMemory(to: Float.self)).map { abs($0 - $1) }.max() ?? .infinity } }
        XCTAssertLessThanOrEqual(merged, 1e-4, "the merged export read back by Factory, against the adapter applied through its hook")

        // GGUF from the merged export: 576 tokens, the new ones at their ids, the same logits
        let gguf = try CLI.run(["export", "--gguf", "model_name_or_path=\(dir)/hf", "export_dir=\(dir)/gguf", "infer_dtype=float32"])
        XCTAssertEqual(gguf.status, 0, gguf.stderr)
        let fromGGUF = try CLI.run(["score", "model_name_or_path=\(dir)/gguf/model.gguf", "--ids", probe, "--dump-logits", dir + "/gguf.bin"])
        XCTAssertEqual(fromGGUF.status, 0, fromGGUF.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/gguf.bin")), b, "the float32 GGUF read back by Factory: the merged export's logits")
        let ggufIDs = try json(try CLI.run(["tokenize", "model_name_or_path=\(dir)/gguf/model.gguf", "--text", "<|tool|>hi zebra_crossing", "--json"]).stdout)["ids"] as? [Int]
        XCTAssertEqual(ggufIDs, ids)

        guard try CLI.run(["python3", "-c", "import transformers, torch"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the transformers half of \(name): python3 has no transformers and torch (scripts/install-test-deps.sh)")
            throw XCTSkip("transformers and torch are not installed")
        }
        let check = try CLI.run(["python3", ExportCommandTests.checker, dir + "/hf", dir + "/factory.bin", probe, "1e-4"], program: "/usr/bin/env")
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let script = """
        import json, sys
        from transformers import AutoTokenizer, AutoConfig
        t = AutoTokenizer.from_pretrained(sys.argv[1])
        print(json.dumps({"ids": t.encode("<|tool|>hi zebra_crossing", add_special_tokens=False), "size": len(t),
                          "vocab_size": AutoConfig.from_pretrained(sys.argv[1]).vocab_size,
                          "skipped": t.decode([513, 17], skip_special_tokens=True) == t.decode([17])}))
        """
        let hf = try json(try CLI.run(["python3", "-c", script, dir + "/hf"], program: "/usr/bin/env").stdout)
        XCTAssertEqual(hf["ids"] as? [Int], ids, "transformers tokenizes the export as Factory does")
        XCTAssertEqual(hf["size"] as? Int, 515)
        XCTAssertEqual(hf["vocab_size"] as? Int, 576)
        XCTAssertEqual(hf["skipped"] as? Bool, true, "<|tool|> is special")
    }

    /// From a GGUF model: the GGUF export carries the grown vocabulary (the token list, its types and
    /// <arch>.vocab_size at 576) and reads back with the logits of the model loaded with the keys.
    func testAGGUFModelsGrownVocabularyGoesIntoItsGGUFExport() throws {
        let dir = try CLI.temporaryDirectory(), source = Self.shared + "/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"
        let keys = ["add_special_tokens=<|tool|>"]
        let export = try CLI.run(["export", "--gguf", "model_name_or_path=\(source)", "export_dir=\(dir)/gguf", "infer_dtype=float32"] + keys)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stderr.contains("embeddings 512 → 576 rows"), export.stderr)
        let loaded = try CLI.run(["score", "model_name_or_path=\(source)", "--ids", "1,512,5", "--dump-logits", dir + "/a.bin"] + keys)
        let reread = try CLI.run(["score", "model_name_or_path=\(dir)/gguf/model.gguf", "--ids", "1,512,5", "--dump-logits", dir + "/b.bin"])
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        XCTAssertEqual(reread.status, 0, reread.stderr)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.bin"))
        XCTAssertEqual(a.count, 3 * 576 * 4)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/b.bin")), a)
        let tokens = try json(try CLI.run(["tokenize", "model_name_or_path=\(dir)/gguf/model.gguf", "--text", "a<|tool|>b", "--json"]).stdout)["tokens"] as? [String]
        XCTAssertEqual(tokens, ["a", "<|tool|>", "b"])
    }

    /// The keys Factory cannot honour are refused in one line; a quantized base does not grow.
    func testWhatIsNotImplementedIsRefused() throws {
        let cases: [([String], String)] = [
            (["init_special_tokens=desc_init"], "init_special_tokens"),
            (["new_special_tokens_config=tokens.yaml"], "new_special_tokens_config"),
            (["quantization_bit=4"] + Self.keys, "resize_vocab: the embeddings of a model loaded quantized cannot grow"),
        ]
        for (extra, says) in cases {
            let r = try CLI.run(["score", "model_name_or_path=\(Self.model)", "--ids", "1,2,3"] + extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(says), "\(extra): \(r.stderr)")
        }
    }
}
