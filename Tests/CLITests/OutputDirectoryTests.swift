import Foundation
import XCTest

/// Faults around a run's output directory (issue 14): two runs into one directory, a disk that is full
/// or read-only, and kill -9 at random points of a run that saves every step, then auto-resume.
final class OutputDirectoryTests: XCTestCase {
    static let shared = CLI.repository + "/../shared"

    /// A LoRA run of the tiny Llama that saves a checkpoint every step.
    func tinyArguments(_ out: String, steps: Int, _ extra: [String] = []) -> [String] {
        ["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
         "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=\(steps)", "per_device_train_batch_size=2",
         "learning_rate=1e-2", "lora_dropout=0.1", "logging_steps=1", "save_steps=1", "lora_target=all", "output_dir=\(out)"] + extra
    }

    /// Starts `factory args` without waiting; stdout and stderr go to files beside `out`.
    func start(_ args: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: CLI.repository)
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// (step, loss) of each trainer_log.jsonl record.
    func logged(_ out: String) throws -> [(Int, Double)] {
        try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = o["current_steps"] as? Int, let loss = o["loss"] as? Double else { return nil }
            return (step, loss)
        }
    }

    func testASecondRunIntoTheSameDirectoryIsRefusedAndTheFirstFinishes() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir + "/out"
        let first = try start(tinyArguments(out, steps: 30), log: dir + "/first.log")
        // wait until the first run holds the lock (its pid is in the lock file)
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOfFile: out + "/.factory.lock", encoding: .utf8))?.hasPrefix("\(first.processIdentifier)") != true {
            XCTAssertTrue(first.isRunning, "the first run ended before taking the lock: \((try? String(contentsOfFile: dir + "/first.log", encoding: .utf8)) ?? "")")
            guard first.isRunning, Date() < deadline else { return }
            usleep(20_000)
        }
        let second = try CLI.run(tinyArguments(out, steps: 30, ["overwrite_output_dir=true"]))
        XCTAssertTrue(first.isRunning, "the second run must be refused while the first is still training")
        XCTAssertEqual(second.status, 1)
        XCTAssertEqual(second.stderr, "factory: error: \(out): output_dir is in use by another factory run (pid \(first.processIdentifier)); wait for it or choose another output_dir\n")
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0, (try? String(contentsOfFile: dir + "/first.log", encoding: .utf8)) ?? "")
        XCTAssertEqual(try logged(out).map(\.0), Array(1...30), "the first run's log is whole")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/adapter_model.safetensors"))
        // the lock went with the process: a third run may use the directory
        let third = try CLI.run(tinyArguments(out, steps: 31))
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stdout.contains("resuming from \(out)/checkpoint-30 at step 30"), third.stdout)
    }

    /// Every file under `dir` (but the lock) and its bytes.
    func snapshot(_ dir: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let walker = FileManager.default.enumerator(atPath: dir)
        while let name = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !name.hasSuffix(".factory.lock") else { continue }
            files[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return files
    }

    func testAFullOrReadOnlyDiskStopsTheRunAndLeavesThePreviousResultsByteIdentical() throws {
        let mount = try CLI.temporaryDirectory() + "/disk"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try CLI.run(["-c", "mount -t tmpfs -o size=4m tmpfs '\(mount)'"], program: "/bin/sh")
        guard mounted.status == 0 else {
            print("SKIPPED: the full-disk test mounts a 4 MiB tmpfs and needs root (mount said: \(mounted.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
            throw XCTSkip("the full-disk test needs root to mount a tmpfs")
        }
        defer { _ = try? CLI.run(["-c", "umount '\(mount)'"], program: "/bin/sh") }
        let out = mount + "/out"
        let previous = try CLI.run(tinyArguments(out, steps: 3, ["save_steps=100"]))
        XCTAssertEqual(previous.status, 0, previous.stderr)
        let before = try snapshot(out)
        XCTAssertTrue(before.keys.contains("trainer_log.jsonl") && before.keys.contains("adapter_model.safetensors"), "\(before.keys)")
        // fill the disk
        _ = try CLI.run(["-c", "dd if=/dev/zero of='\(mount)/filler' bs=4096 2>/dev/null; true"], program: "/bin/sh")
        let full = try CLI.run(tinyArguments(out, steps: 3, ["overwrite_output_dir=true", "save_steps=100"]))
        XCTAssertEqual(full.status, 1, full.stdout + full.stderr)
        XCTAssertTrue(full.stderr.hasPrefix("factory: error: \(out)/"), full.stderr)
        XCTAssertTrue(full.stderr.hasSuffix("(No space left on device)\n"), full.stderr)
        XCTAssertEqual(full.stderr.filter { $0 == "\n" }.count, 1, full.stderr)
        XCTAssertEqual(try snapshot(out), before, "the previous run's files changed on a full disk")
        // read-only
        _ = try CLI.run(["-c", "rm -f '\(mount)/filler'; mount -o remount,ro '\(mount)'"], program: "/bin/sh")
        let readOnly = try CLI.run(tinyArguments(out, steps: 3, ["overwrite_output_dir=true"]))
        XCTAssertEqual(readOnly.status, 1)
        XCTAssertEqual(readOnly.stderr, "factory: error: \(out): cannot use it as output_dir (Read-only file system)\n")
        let elsewhere = try CLI.run(tinyArguments(mount + "/new/out", steps: 3))
        XCTAssertEqual(elsewhere.stderr, "factory: error: \(mount)/new/out: cannot create the directory (Read-only file system)\n")
        XCTAssertEqual(try snapshot(out), before)
    }

    /// kill -9 at five random moments of a run that saves every step (so many land inside a save), each time
    /// started again into the same directory (auto-resume), then run to the end: the adapter is byte for
    /// byte the uninterrupted run's, and the log has every step once with the same losses.
    func testKillsDuringSavesThenAutoResumeReproduceTheUninterruptedRun() throws {
        let dir = try CLI.temporaryDirectory()
        let steps = 80
        let reference = try CLI.run(tinyArguments(dir + "/reference", steps: steps))
        XCTAssertEqual(reference.status, 0, reference.stderr)
        var seed: UInt64 = 0x5EED
        func nextDelay() -> Double {  // 0.4–1.6 s: past start-up, a few steps in (five attempts stay far from step 80)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return 0.4 + Double(seed >> 33) / Double(1 << 31) * 1.2
        }
        let out = dir + "/killed"
        var kills: [String] = []
        for attempt in 0..<5 {
            let p = try start(tinyArguments(out, steps: steps), log: dir + "/attempt\(attempt).log")
            let delay = nextDelay()
            usleep(UInt32(delay * 1e6))
            guard p.isRunning else { break }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let saved = (try? FileManager.default.contentsOfDirectory(atPath: out))?.filter { $0.hasPrefix("checkpoint-") }.count ?? 0
            kills.append(String(format: "%.2f s (%d checkpoints)", delay, saved))
        }
        print("killed at: " + kills.joined(separator: ", "))
        XCTAssertGreaterThanOrEqual(kills.count, 5, "every kill should land before the run ends")
        let last = try CLI.run(tinyArguments(out, steps: steps))
        XCTAssertEqual(last.status, 0, last.stderr)
        XCTAssertTrue(last.stdout.contains("resuming from "), last.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/adapter_model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/reference/adapter_model.safetensors")))
        let (a, b) = (try logged(out), try logged(dir + "/reference"))
        XCTAssertEqual(a.map(\.0), Array(1...steps), "each step logged once")
        XCTAssertEqual(a.map(\.1), b.map(\.1))
        let left = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".partial") || $0.contains(".tmp-") }
        XCTAssertEqual(left, [], "leftovers of the killed runs are cleaned up")
        // a kill after the last checkpoint but before the final save: the next run saves the results from it
        for file in ["adapter_model.safetensors", "train_results.json"] { try FileManager.default.removeItem(atPath: out + "/" + file) }
        let finish = try CLI.run(tinyArguments(out, steps: steps))
        XCTAssertEqual(finish.status, 0, finish.stderr)
        XCTAssertTrue(finish.stdout.contains("checkpoint-\(steps) is at the last step; its run stopped before the final save"), finish.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/adapter_model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/reference/adapter_model.safetensors")))
        // and once the results are there, nothing is left to train
        let again = try CLI.run(tinyArguments(out, steps: steps))
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("nothing is left to train"), again.stderr)
    }
}
