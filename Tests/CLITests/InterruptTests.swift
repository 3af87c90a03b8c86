import Foundation
import XCTest

/// SIGINT (Ctrl-C, the web UI's stop button) ends a training run after its current step with a checkpoint and
/// one line saying how to continue; resuming from it gives the uninterrupted run's adapter bit for bit.
final class InterruptTests: XCTestCase {
    static let shared = CLI.repository + "/../shared"

    func arguments(_ out: String, _ extra: [String] = []) -> [String] {
        ["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
         "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=120", "logging_steps=1",
         "save_strategy=no", "per_device_train_batch_size=2", "lora_target=all", "output_dir=\(out)"] + extra
    }

    func testSIGINTSavesACheckpointAndTheRunResumesFromIt() throws {
        let dir = try CLI.temporaryDirectory()
        let whole = try CLI.run(arguments(dir + "/whole"))
        XCTAssertEqual(whole.status, 0, whole.stderr)

        let run = Process()
        run.executableURL = URL(fileURLWithPath: CLI.binary)
        run.arguments = arguments(dir + "/cut")
        run.currentDirectoryURL = URL(fileURLWithPath: CLI.repository)
        let errors = Pipe()
        (run.standardOutput, run.standardError) = (FileHandle.nullDevice, errors)
        try run.run()
        let log = dir + "/cut/trainer_log.jsonl", deadline = Date().addingTimeInterval(120)
        while ((try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 3 && run.isRunning && Date() < deadline {
            usleep(10_000)
        }
        XCTAssertTrue(run.isRunning, "the run ended before it could be interrupted")
        kill(run.processIdentifier, SIGINT)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        XCTAssertEqual(run.terminationStatus, 1)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir + "/cut").filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(checkpoints.count, 1, "\(checkpoints)")
        let step = try XCTUnwrap(checkpoints.first.flatMap { Int($0.dropFirst("checkpoint-".count)) })
        XCTAssertLessThan(step, 120)
        let saved = dir + "/cut/checkpoint-\(step)"
        XCTAssertTrue(stderr.contains("factory: error: stopped by SIGINT after step \(step) of 120 and saved \(saved); set resume_from_checkpoint: \(saved) to continue"), stderr)
        let logged = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(logged, step, "every step up to the stop is logged")

        let resumed = try CLI.run(arguments(dir + "/cut", ["resume_from_checkpoint=\(saved)"]))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/adapter_model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/cut/adapter_model.safetensors")))
    }
}
