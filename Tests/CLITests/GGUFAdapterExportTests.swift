import Foundation
import XCTest

/// `factory export --gguf-lora` (export_format: gguf_lora): a PEFT LoRA written as llama.cpp's LoRA adapter
/// GGUF, which Factory reads back (adapter_name_or_path: adapter.gguf) as the adapter it was, and which
/// llama.cpp applies to the base model's GGUF (its --lora) with Factory's greedy answer.
final class GGUFAdapterExportTests: XCTestCase {
    static let model = ExportCommandTests.model
    /// A PEFT LoRA on every linear of the tiny Llama with B drawn N(0, 0.05²).
    static let adapter = ExportCommandTests.adapter
    static let ids = ExportCommandTests.ids

    /// Factory's logits for `ids` with `adapter` (none: the base), as floats.
    func logits(model: String = model, adapter: String?, ids: String = ids, program: String? = nil, in dir: String) throws -> [Float] {
        let file = dir + "/logits-\(UUID().uuidString).bin"
        let r = try CLI.run(["score", "model_name_or_path=\(model)", "--ids", ids, "--dump-logits", file] + (adapter.map { ["adapter_name_or_path=\($0)"] } ?? []),
                            program: program)
        XCTAssertEqual(r.status, 0, r.stderr)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// The tiny Llama's adapter (a Hugging Face model: llama.cpp's architecture from the family's
    /// gguf_architecture) round-trips: read back from adapter.gguf it gives the PEFT adapter's logits, q and
    /// k rows of B permuted there and back; an alpha_pattern entry, which llama.cpp's one alpha cannot say,
    /// is folded into those modules' B and still gives PEFT's logits.
    func testTheTinyLlamasAdapterReadsBackFromItsGGUF() throws {
        let dir = try CLI.temporaryDirectory()
        let export = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(Self.adapter)",
                                  "export_dir=\(dir)/out", "infer_dtype=float32"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("adapter.lora.alpha 16, 14 LoRA pairs"), export.stdout)
        let peft = try logits(adapter: Self.adapter, in: dir), gguf = try logits(adapter: dir + "/out/adapter.gguf", in: dir)
        let base = try logits(adapter: nil, in: dir)
        XCTAssertGreaterThan(maxDifference(peft, base), 1e-2, "the adapter changes the logits, so the comparison below sees it applied")
        XCTAssertLessThanOrEqual(maxDifference(peft, gguf), 1e-6, "adapter.gguf read back is the PEFT adapter")

        // alpha_pattern: q_proj scaled 4/8 instead of 16/8
        try FileManager.default.copyItem(atPath: Self.adapter, toPath: dir + "/patterned")
        let configPath = dir + "/patterned/adapter_config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any] ?? [:]
        config["alpha_pattern"] = ["q_proj": 4]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let patterned = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(dir)/patterned",
                                     "export_dir=\(dir)/patterned-out", "infer_dtype=float32"])
        XCTAssertEqual(patterned.status, 0, patterned.stderr)
        XCTAssertTrue(patterned.stdout.contains("2 pairs scaled otherwise"), patterned.stdout)
        let peftPatterned = try logits(adapter: dir + "/patterned", in: dir)
        XCTAssertGreaterThan(maxDifference(peftPatterned, peft), 1e-3, "alpha_pattern changes the adapter")
        XCTAssertLessThanOrEqual(maxDifference(peftPatterned, try logits(adapter: dir + "/patterned-out/adapter.gguf", in: dir)), 1e-5)

        // float16: within half precision of the adapter's values
        let half = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(Self.adapter)",
                                "export_dir=\(dir)/half", "infer_dtype=float16"])
        XCTAssertEqual(half.status, 0, half.stderr)
        // float16: the adapter's values rounded to 11 significant bits move its effect on the logits by far
        // less than 1% (2⁻¹¹ ≈ 0.05% per value)
        let halfDifference = maxDifference(peft, try logits(adapter: dir + "/half/adapter.gguf", in: dir))
        XCTAssertGreaterThan(halfDifference, 0, "float16 rounds the adapter")
        XCTAssertLessThanOrEqual(halfDifference, 0.01 * maxDifference(peft, base))

        // the same file on the tiny Llama's GGUF (architecture llama, q and k rows in llama.cpp's order there)
        let ggufModel = ExportCommandTests.shared + "/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"
        XCTAssertLessThanOrEqual(maxDifference(try logits(model: ggufModel, adapter: Self.adapter, in: dir),
                                               try logits(model: ggufModel, adapter: dir + "/out/adapter.gguf", in: dir)), 1e-5)
    }

    /// What llama.cpp's adapter format cannot hold, and adapters that are no adapters, are refused in one line.
    func testWhatTheFormatCannotHoldIsRefused() throws {
        let dir = try CLI.temporaryDirectory()
        let dora = CLI.repository + "/Tests/FactoryTrainingTests/Fixtures/tiny_dora/initial"
        let cases: [([String], String)] = [
            (["adapter_name_or_path=\(dora)"], "DoRA adapter: llama.cpp's LoRA format has no magnitude vector"),
            (["adapter_name_or_path=\(Self.adapter),\(Self.adapter)"], "adapter_name_or_path names 2"),
            ([], "adapter_name_or_path names 0"),
            (["export_quantizer=q8_0", "adapter_name_or_path=\(Self.adapter)"], "export_quantizer"),
        ]
        for (extra, message) in cases {
            let r = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(Self.model)", "export_dir=\(dir)/out"] + extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/adapter.gguf"))
        }
        // a model GGUF given as an adapter
        let gguf = ExportCommandTests.shared + "/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"
        let r = try CLI.run(["score", "model_name_or_path=\(gguf)", "adapter_name_or_path=\(gguf)", "--ids", Self.ids])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("general.type is 'model', not 'adapter'") || r.stderr.contains("general.type is 'none', not 'adapter'"), r.stderr)
    }

    /// SmolLM2 from its pip GGUF with a LoRA trained on it for two steps (release build; runs when the GGUF
    /// is installed, skipped loudly otherwise): llama.cpp applies adapter.gguf to the base's float32 GGUF and
    /// greedy-decodes the identity question as Factory does with the PEFT adapter, and as Factory does with
    /// adapter.gguf.
    func testLlamaCppAppliesSmolLM2sAdapterAsFactoryDoes() throws {
        let (factory, dir) = try ExportCommandTests.smolLM2WithLoRA(name)
        let model = "HuggingFaceTB/SmolLM2-135M-Instruct"
        let adapter = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "export_dir=\(dir)/adapter",
                                   "infer_dtype=float32"], program: factory)
        XCTAssertEqual(adapter.status, 0, adapter.stderr)
        XCTAssertTrue(adapter.stdout.contains("210 LoRA pairs"), adapter.stdout)
        let base = try CLI.run(["export", "--gguf", "model_name_or_path=\(model)", "export_dir=\(dir)/base", "infer_dtype=float32"], program: factory)
        XCTAssertEqual(base.status, 0, base.stderr)

        let prompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
        func factoryIDs(_ adapter: String?) throws -> [Int]? {
            let r = try CLI.run(["generate", "model_name_or_path=\(model)", "--prompt", prompt, "--max-new-tokens", "16", "--greedy", "--json"]
                                + (adapter.map { ["adapter_name_or_path=\($0)"] } ?? []), program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            return (try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["ids"] as? [Int]
        }
        let withPEFT = try factoryIDs(dir + "/lora")
        XCTAssertEqual(withPEFT?.count, 16)
        XCTAssertNotEqual(withPEFT, try factoryIDs(nil), "the adapter changes the answer, so the comparisons below see it applied")
        XCTAssertEqual(try factoryIDs(dir + "/adapter/adapter.gguf"), withPEFT, "Factory with adapter.gguf")
        guard try CLI.run(["python3", "-c", "import llama_cpp"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the llama.cpp half of testLlamaCppAppliesSmolLM2sAdapterAsFactoryDoes: python3 has no llama_cpp (pip install llama-cpp-python)")
            throw XCTSkip("llama-cpp-python is not installed")
        }
        let run = try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/llamacpp_generate.py", dir + "/base/model.gguf", prompt, "16",
                               dir + "/adapter/adapter.gguf"], program: "/usr/bin/env")
        XCTAssertEqual(run.status, 0, run.stderr)
        let llamaCpp = (try JSONSerialization.jsonObject(with: Data((run.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["ids"] as? [Int]
        XCTAssertEqual(llamaCpp, withPEFT, "llama.cpp with --lora adapter.gguf on the float32 base")
    }
}
