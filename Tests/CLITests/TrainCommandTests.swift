import Foundation
import XCTest

/// `factory run` training end to end: what it leaves on disk, adapters in generate (hooked and
/// merged), refusals; and the main job's promise — LoRA on the identity data changes SmolLM2's
/// answer to "Who are you?" (release binary: numeric loops in a debug build are ~20x slower).
final class TrainCommandTests: XCTestCase {
    static let shared = CLI.repository + "/../shared"

    func tinyRun(_ out: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                     "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=4", "per_device_train_batch_size=2",
                     "learning_rate=1e-2", "logging_steps=2", "save_steps=2", "lora_target=all", "plot_loss=true", "output_dir=\(out)"] + extra)
    }

    /// The `loss` of every trainer_log.jsonl record of a run.
    func losses(_ out: String) throws -> [Double] {
        try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["loss"] as? Double
        }
    }

    func testQLoRARunPacksTheBaseAndChatMergesByDequantizing() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try tinyRun(dir + "/q", ["quantization_bit=4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("quantized base (nf4, nf4): 14 linear weights"), r.stdout)
        XCTAssertTrue(r.stdout.contains("bytes/parameter)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("gradient checkpointing: each layer keeps only its input"), "a quantized base recomputes its linears: \(r.stdout)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/q/adapter_model.safetensors"))
        // the other checkpointing modes train to the same losses; only memory and time differ
        for (extra, says) in [("recompute_linears=false", "each layer keeps its linears' outputs"), ("disable_gradient_checkpointing=true", "off")] {
            let other = try tinyRun(dir + "/" + extra, ["quantization_bit=4", extra])
            XCTAssertEqual(other.status, 0, other.stderr)
            XCTAssertTrue(other.stdout.contains("gradient checkpointing: " + says), other.stdout)
            let (a, b) = (try losses(dir + "/q"), try losses(dir + "/" + extra))
            XCTAssertEqual(a.count, 2)
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, extra) }
        }
        let g = try CLI.run(["generate", "--model", "\(Self.shared)/fixtures/tiny/llama", "quantization_bit=4", "adapter_name_or_path=\(dir)/q",
                             "merge=true", "--ids", "5,6,7", "--greedy", "--max-new-tokens", "3"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("merge: the adapted linear weights were dequantized to fp32"), g.stderr)
    }

    func testLoRARunSavesAnAdapterThatGenerateAppliesHookedAndMerged() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir + "/out"
        let r = try tinyRun(out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("lora on sft: 32 examples"), r.stdout)
        XCTAssertTrue(r.stdout.contains(" 4/4  loss "), r.stdout)
        for file in ["adapter_model.safetensors", "adapter_config.json", "train_results.json", "checkpoint-2/optimizer.safetensors",
                     "checkpoint-2/trainer_state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        let log = try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 2)
        XCTAssertTrue(log[1].hasPrefix("{\"current_steps\":4,\"total_steps\":4,\"loss\":"), String(log[1]))
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/training_loss.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(png[16..<24]), [0, 0, 3, 32, 0, 0, 1, 224], "800×480")
        XCTAssertLessThan(png.count, 800 * 480 * 3 / 20, "deflated (LossPlotTests decodes it)")

        let generate = ["generate", "--model", "\(Self.shared)/fixtures/tiny/llama", "--ids", "5,17,33,2", "--greedy", "--max-new-tokens", "6",
                        "--json", "--ignore-eos"]
        let base = try CLI.run(generate)
        let hooked = try CLI.run(generate + ["adapter_name_or_path=\(out)"])
        let merged = try CLI.run(generate + ["adapter_name_or_path=\(out)", "merge=true"])
        for g in [base, hooked, merged] { XCTAssertEqual(g.status, 0, g.stderr) }
        XCTAssertEqual(try CLI.json(hooked.stdout) as? NSDictionary, try CLI.json(merged.stdout) as? NSDictionary)
        XCTAssertNotEqual(try CLI.json(base.stdout) as? NSDictionary, try CLI.json(hooked.stdout) as? NSDictionary,
                          "lr 1e-2 on all linears should change the tiny model's greedy continuation")
    }

    func testPretrainingWithEvaluationAndACheckpointLimit() throws {
        let dir = try CLI.temporaryDirectory()
        // no template: pre-training reads raw text (optional for pt, as in LLaMA-Factory)
        let r = try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "stage=pt", "dataset=alpaca_en_demo", "dataset_dir=\(Self.shared)/data", "max_samples=40",
                             "cutoff_len=32", "val_size=0.2", "eval_steps=2", "max_steps=4", "per_device_train_batch_size=4",
                             "save_steps=1", "save_total_limit=1", "finetuning_type=full", "output_dir=\(dir)/pt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("full on pt: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("eval at step 4: eval_loss "), r.stdout)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/pt").filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(left, ["checkpoint-4"], "the last step is saved too when save_steps divides it (transformers)")
        for file in ["model.safetensors", "config.json"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/pt/" + file), file) }
        let log = try String(contentsOfFile: dir + "/pt/trainer_log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "\"eval_loss\"").count - 1, 2, log)
    }

    func testRefusalsAreOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        try "keep me".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let occupied = try tinyRun(dir)
        XCTAssertEqual(occupied.status, 1)
        XCTAssertEqual(occupied.stderr, "factory: error: \(dir): output_dir exists and is not empty; set overwrite_output_dir: true or resume_from_checkpoint\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/notes.txt", encoding: .utf8), "keep me")
        let ppo = try tinyRun(dir + "/ppo", ["stage=ppo"])  // a stage not implemented yet (dpo, rm, kto are: PreferenceCommandTests)
        XCTAssertEqual(ppo.status, 1)
        XCTAssertEqual(ppo.stderr, "factory: error: stage 'ppo' is not implemented yet (Factory trains: pt, sft, rm, dpo, kto)\n")  // the plan's item now
        let neftune = try tinyRun(dir + "/n", ["neftune_noise_alpha=-1"])
        XCTAssertEqual(neftune.status, 1)
        XCTAssertEqual(neftune.stderr, "factory: error: override 'neftune_noise_alpha=-1' neftune_noise_alpha: -1 is out of range (expected ≥ 0)\n")
        let fullOnPacked = try tinyRun(dir + "/q", ["quantization_bit=4", "finetuning_type=full"])  // a capability, not an if-chain
        XCTAssertEqual(fullOnPacked.status, 1)
        XCTAssertTrue(fullOnPacked.stderr.hasPrefix("factory: error: finetuning_type full trains the base weights, but quantizer 'nf4' ("), fullOnPacked.stderr)
        XCTAssertTrue(fullOnPacked.stderr.hasSuffix("declares trainable_base: false (a quantized base trains adapters only: use lora)\n"), fullOnPacked.stderr)
    }

    func testIdentityDataTeachesSmolLM2ItsNewName() throws {
        let release = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: release) else {
            XCTFail("needs the release binary: swift build -c release --product factory (scripts/test.sh builds it)")
            return
        }
        let dir = try CLI.temporaryDirectory()
        let chat = ["chat", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "do_sample=false", "max_new_tokens=24"]
        let before = try CLI.run(chat, program: release, input: "Who are you?\n")
        XCTAssertEqual(before.status, 0, before.stderr)
        XCTAssertFalse(before.stdout.contains("Factory"), before.stdout)
        let train = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "dataset=identity", "output_dir=\(dir)/id", "num_train_epochs=4",
                                 "gradient_accumulation_steps=1", "plot_loss=false"], program: release)
        XCTAssertEqual(train.status, 0, train.stderr)
        // the hub id the GGUF was found through, so AutoPeftModelForCausalLM resolves the base; the GGUF's
        // tokenizer beside the adapter as Hugging Face files, chat template included
        let config = try object(dir + "/id/adapter_config.json")
        XCTAssertEqual(config["base_model_name_or_path"] as? String, "HuggingFaceTB/SmolLM2-135M-Instruct")
        let tokenizerConfig = try object(dir + "/id/tokenizer_config.json")
        XCTAssertTrue((tokenizerConfig["chat_template"] as? String ?? "").contains("<|im_start|>"), "\(tokenizerConfig.keys)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/id/tokenizer.json"))
        let after = try CLI.run(chat + ["adapter_name_or_path=\(dir)/id"], program: release, input: "Who are you?\n")
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertTrue(after.stdout.contains("Factory Assistant"), after.stdout)
    }
}

/// What a Hugging Face or LLaMA-Factory user looks for beside the final weights.
extension TrainCommandTests {
    func object(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any], path)
    }

    func testARunLeavesTheFilesAndFieldNamesOfTheHuggingFaceTrainer() throws {
        let out = try CLI.temporaryDirectory() + "/out"
        let r = try tinyRun(out, ["val_size=4", "eval_strategy=steps", "eval_steps=2", "save_steps=3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let train = try object(out + "/train_results.json")
        for key in ["epoch", "total_flos", "train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"] {
            XCTAssertNotNil(train[key], "train_results.json \(key)")
        }
        XCTAssertEqual(train["train_samples_per_second"] as? Double ?? 0, 8 / (train["train_runtime"] as? Double ?? 1), accuracy: 0.5,
                       "4 steps of 2 samples")
        let eval = try object(out + "/eval_results.json")
        XCTAssertNotNil(eval["eval_loss"] as? Double)
        XCTAssertNotNil(eval["eval_runtime"])
        let all = try object(out + "/all_results.json")
        XCTAssertEqual(all["train_loss"] as? Double, train["train_loss"] as? Double)
        XCTAssertEqual(all["eval_loss"] as? Double, eval["eval_loss"] as? Double)
        // trainer_state.json: two logged steps, two evaluations, the summary; the learning rate as transformers
        // logs it (linear decay from 1e-2 over 4 steps: 5e-3 after step 2, 0 after step 4)
        let state = try object(out + "/trainer_state.json")
        XCTAssertEqual(state["global_step"] as? Int, 4)
        let history = try XCTUnwrap(state["log_history"] as? [[String: Any]])
        XCTAssertEqual(history.count, 5, "\(history)")
        let logged = history.filter { $0["loss"] != nil }
        XCTAssertEqual(logged.map { $0["step"] as? Int }, [2, 4])
        XCTAssertEqual(logged.map { $0["learning_rate"] as? Double ?? -1 }, [5e-3, 0])
        XCTAssertEqual(history.filter { $0["eval_loss"] != nil }.count, 2)
        XCTAssertNotNil(history.last?["train_runtime"])
        let log = try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n")
        let first = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(log[0].utf8)) as? [String: Any])
        XCTAssertEqual(first["lr"] as? Double, 5e-3)
        XCTAssertNotNil(first["throughput"])
        XCTAssertGreaterThan(first["total_tokens"] as? Int ?? 0, 0)
        let running = try String(contentsOfFile: out + "/running_log.txt", encoding: .utf8)
        XCTAssertTrue(running.contains(" 4/4  loss "), running)
        let card = try String(contentsOfFile: out + "/README.md", encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nlibrary_name: peft\nbase_model: \(Self.shared)/fixtures/tiny/llama\n"), card)
        XCTAssertTrue(card.contains("datasets:\n- factory_demo\n"), card)
        XCTAssertTrue(card.contains("- learning_rate: 0.01\n"), card)
        // the tokenizer beside the adapter, as LLaMA-Factory saves it; a checkpoint every save_steps and at the last step
        for file in ["tokenizer.json", "checkpoint-3/adapter_model.safetensors", "checkpoint-4/adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/generation_config.json"), "an adapter has none")
    }

    func testAFullFineTuneSavesAGenerationConfig() throws {
        let out = try CLI.temporaryDirectory() + "/full"
        let r = try tinyRun(out, ["finetuning_type=full", "max_steps=1", "save_strategy=no"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let generation = try object(out + "/generation_config.json")
        XCTAssertNotNil(generation["eos_token_id"], "\(generation)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoint-1"), "save_strategy: no saves no checkpoint")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    }
}

extension TrainCommandTests {
    /// LoRA on every in-tree family's tiny model trains: the loss falls over 8 steps.
    func testLoRATrainsEveryFamily() throws {
        let dir = try CLI.temporaryDirectory()
        for family in ["llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "phi3", "gemma3"] {
            let model = family == "gemma3" ? CLI.repository + "/Tests/FactoryModelTests/Fixtures/tiny_gemma3" : "\(Self.shared)/fixtures/tiny/\(family)"
            let r = try tinyRun(dir + "/" + family, ["model_name_or_path=\(model)", "max_steps=8", "logging_steps=1",
                                                     "per_device_train_batch_size=4", "plot_loss=false"])
            XCTAssertEqual(r.status, 0, "\(family): \(r.stderr)")
            let l = try losses(dir + "/" + family)
            XCTAssertEqual(l.count, 8, family)
            XCTAssertLessThan(l.last ?? .infinity, (l.first ?? 0) - 0.2, "\(family): \(l)")
        }
    }
}
