// The training runs the web UI starts: each is `factory run <config>.yaml` in a process of its own, as
// LlamaBoard runs `llamafactory-cli train`, with its YAML and its output kept in the state folder
// (saves/webui/run-N.yaml, run-N.log). The page follows a run through its output log and its output_dir's
// trainer_log.jsonl, so a reloaded page reattaches to what is running; stop sends SIGINT, after which the run
// saves a checkpoint at the end of its step. One run at a time per output_dir (factory's own lock holds
// it across processes; the registry refuses a second start from the page at once).
import FactoryJSON
import Foundation
import Synchronization

public final class WebRuns: Sendable {
    /// One started run.
    public struct Run: Sendable {
        public let id: Int
        /// The factory subcommand: run, eval or export.
        public let command: String
        /// What the page started: train, predict (a `factory run` with do_predict), eval or export.
        public let job: String
        public let outputDir: String
        public let config: String
        public let log: String
        public let pid: Int32
        public let started: Date
        public var exitStatus: Int32?
        /// Whether the page asked it to stop (SIGINT): a non-zero exit then reads "stopped", not "failed".
        public var stopRequested = false

        public var json: JSON {
            .object(JSONObject([("id", .int(Int64(id))), ("command", .string(command)), ("job", .string(job)), ("output_dir", .string(outputDir)), ("config", .string(config)), ("log", .string(log)),
                                ("status", .string(exitStatus == nil ? "running" : exitStatus == 0 ? "finished" : stopRequested ? "stopped" : "failed")),
                                ("exit_status", exitStatus.map { .int(Int64($0)) } ?? .null), ("started", .double(started.timeIntervalSince1970))]))
        }
    }

    private let binary: String
    private let directory: String
    private let runs = Mutex<[Run]>([])

    public init(binary: String, stateDirectory: String) throws {
        self.binary = binary
        directory = stateDirectory
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    public var all: [Run] { runs.withLock { $0 } }
    public func run(_ id: Int) -> Run? { runs.withLock { $0.first { $0.id == id } } }

    /// Writes `yaml` as the next run's config and starts `factory <command>` on it (run, eval or export) as the
    /// page's `job` (train, predict, eval, export; the command's name by default). Refused (409) while a job the
    /// page started is still writing `outputDir`.
    public func start(_ command: String = "run", job: String? = nil, yaml: String, outputDir: String) throws -> Run {
        let absoluteOutput = outputDir.hasPrefix("/") ? outputDir : FileManager.default.currentDirectoryPath + "/" + outputDir
        if let busy = runs.withLock({ $0.first { $0.outputDir == absoluteOutput && $0.exitStatus == nil } }) {
            throw WebUIError(409, "run \(busy.id) is still \(busy.job == "train" ? "training" : "writing") into \(outputDir): stop it or choose another output folder")
        }
        let id = runs.withLock { ($0.map(\.id).max() ?? 0) + 1 }
        let config = "\(directory)/run-\(id).yaml", log = "\(directory)/run-\(id).log"
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: log, contents: nil)
        guard let output = FileHandle(forWritingAtPath: log) else { throw WebUIError(500, "\(log): cannot be written") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [command, config]
        (process.standardOutput, process.standardError) = (output, output)
        try process.run()
        let run = Run(id: id, command: command, job: job ?? (command == "run" ? "train" : command), outputDir: absoluteOutput, config: config, log: log, pid: process.processIdentifier, started: Date())
        runs.withLock { $0.append(run) }
        Thread.detachNewThread { [weak self] in
            process.waitUntilExit()
            try? output.close()
            self?.runs.withLock { list in
                if let i = list.firstIndex(where: { $0.id == id }) { list[i].exitStatus = process.terminationStatus }
            }
        }
        return run
    }

    /// SIGINT to every run still training (when the web UI stops: each checkpoints and stops after its step).
    public func stopAll() {
        for run in all where run.exitStatus == nil { try? stop(run.id) }
    }

    /// SIGINT to a running run (it checkpoints and stops after its step).
    public func stop(_ id: Int) throws {
        guard let run = run(id) else { throw WebUIError(404, "no run \(id)") }
        guard run.exitStatus == nil else { throw WebUIError(409, "run \(id) has ended already") }
        runs.withLock { list in
            if let i = list.firstIndex(where: { $0.id == id }) { list[i].stopRequested = true }
        }
        kill(run.pid, SIGINT)
    }
}

/// An HTTP status with one line.
public struct WebUIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public init(_ status: Int, _ message: String) { (self.status, self.message) = (status, message) }
    public var description: String { message }
}
