import Foundation
import XCTest

/// `mpirun -np 2 factory run` (issue 23): two ranks train exactly what one process trains with the same global
/// batch — per-step losses and gradient norms, and the saved weights within 1e-5 — over Open MPI's default
/// transports and over TCP alone; rank 0 alone writes output_dir and prints.
final class DataParallelTests: XCTestCase {
    static let shared = CLI.repository + "/../shared"

    func config(_ out: String, batch: Int, _ extra: [String]) -> [String] {
        ["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
         "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=4", "logging_steps=1",
         "save_steps=2", "per_device_train_batch_size=\(batch)", "output_dir=\(out)"] + extra
    }

    func twoRanks(_ args: [String], transport: [String] = []) throws -> CLI.Result {
        try CLI.run(["-np", "2"] + transport + [CLI.binary] + args, program: "/usr/bin/mpirun", environment: CommunicatorTests.mpiEnvironment)
    }

    /// (loss, grad_norm) of every step trainer_log.jsonl records.
    func steps(_ out: String) throws -> [(Double, Double)] {
        try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let loss = o["loss"] as? Double,
                  let norm = o["grad_norm"] as? Double else { return nil }
            return (loss, norm)
        }
    }

    /// The largest ‖a − b‖ / ‖a‖ over the tensors of two safetensors files (numpy, as the fixtures' tools read them).
    func worstRelativeDifference(_ a: String, _ b: String) throws -> Double {
        let out = try CLI.sh("""
            python3 -c "
            from safetensors.numpy import load_file; import numpy as np
            a, b = load_file('\(a)'), load_file('\(b)')
            assert a.keys() == b.keys(), (sorted(a), sorted(b))
            print(max(float(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(a[k]), 1e-30)) for k in a))"
            """)
        return try XCTUnwrap(Double(out.trimmingCharacters(in: .whitespacesAndNewlines)), out)
    }

    func check(_ name: String, single: String, ranks: String, weights: String) throws {
        let (one, two) = (try steps(single), try steps(ranks))
        XCTAssertEqual(one.count, 4, name)
        XCTAssertEqual(one.map(\.0), two.map(\.0), "\(name): the logged losses")
        for (a, b) in zip(one, two) { XCTAssertEqual(b.1, a.1, accuracy: 1e-5 * a.1, "\(name): gradient norms") }
        let worst = try worstRelativeDifference(single + "/" + weights, ranks + "/" + weights)
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): the saved \(weights)")
        XCTAssertGreaterThan(worst, 0, "\(name): the ranks sum in another order than one process; identical bits would mean one rank did all the work")
    }

    func testTwoRanksTrainWhatOneProcessTrainsWithTheSameGlobalBatch() throws {
        let dir = try CLI.temporaryDirectory()
        let lora = ["lora_target=all", "learning_rate=1e-3"]
        let single = try CLI.run(config(dir + "/one", batch: 4, lora))
        XCTAssertEqual(single.status, 0, single.stderr)
        let two = try twoRanks(config(dir + "/two", batch: 2, lora))
        XCTAssertEqual(two.status, 0, two.stdout + two.stderr)
        try check("LoRA", single: dir + "/one", ranks: dir + "/two", weights: "adapter_model.safetensors")
        XCTAssertTrue(two.stdout.contains("data parallel: 2 ranks (Open MPI"), two.stdout)
        XCTAssertEqual(two.stdout.components(separatedBy: "lora on sft: ").count - 1, 1, "rank 0 alone prints\n\(two.stdout)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/two").filter { $0.hasPrefix("checkpoint-") }.sorted()
        XCTAssertEqual(left, ["checkpoint-2", "checkpoint-4"])
        // resuming in one process needs the same global batch (the data position is the global batch's)
        let resumed = try CLI.run(config(dir + "/two", batch: 3, lora + ["resume_from_checkpoint=\(dir)/two/checkpoint-2"]))
        XCTAssertEqual(resumed.status, 1)
        XCTAssertTrue(resumed.stderr.contains("checkpoint-2: saved by a run of 2 process(es) with a global batch of 4 examples; this run has 1 with 3"), resumed.stderr)

        // full fine-tuning with gradient accumulation, the ranks on TCP only (nothing relies on shared memory)
        let full = ["finetuning_type=full", "gradient_accumulation_steps=2", "learning_rate=1e-4", "save_strategy=no"]
        XCTAssertEqual(try CLI.run(config(dir + "/full-one", batch: 6, full)).status, 0)
        let tcp = try twoRanks(config(dir + "/full-two", batch: 3, full), transport: ["--mca", "btl", "tcp,self"])
        XCTAssertEqual(tcp.status, 0, tcp.stdout + tcp.stderr)
        try check("full over TCP", single: dir + "/full-one", ranks: dir + "/full-two", weights: "model.safetensors")
    }

    func testStagesBeyondPtAndSftAreRefusedUnderMpirunInOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try twoRanks(config(dir + "/dpo", batch: 1, ["stage=dpo", "dataset=factory_dpo_demo"]))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("data-parallel training (2 ranks) trains stages pt and sft for now; run stage dpo in one process"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/dpo"), "nothing written")
    }
}
