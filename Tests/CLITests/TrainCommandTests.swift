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
        XCTAssertGreaterThan(png.count, 800 * 480 * 3)

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
        let r = try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "stage=pt", "template=chatml",
                             "allow_template_mismatch=true", "dataset=alpaca_en_demo", "dataset_dir=\(Self.shared)/data", "max_samples=40",
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
        let dpo = try tinyRun(dir + "/dpo", ["stage=dpo"])
        XCTAssertEqual(dpo.status, 1)
        XCTAssertEqual(dpo.stderr, "factory: error: stage 'dpo' is not implemented in this build (it trains: pt, sft)\n")
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
        let after = try CLI.run(chat + ["adapter_name_or_path=\(dir)/id"], program: release, input: "Who are you?\n")
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertTrue(after.stdout.contains("Factory Assistant"), after.stdout)
    }
}
