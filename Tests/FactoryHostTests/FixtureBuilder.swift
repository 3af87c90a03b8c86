import Foundation
import XCTest

/// Builds the C fixture plugin (Fixtures/fixture_plugin.c) in variants, with
/// `cc -shared -fPIC -I SDK/include`, into a fresh temporary folder.
struct FixtureBuilder {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let source = fixtures + "/fixture_plugin.c"
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "factory-fixtures-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Compiles a variant into `<directory>/<name>` with extra -D flags; `shared: false` makes an object file.
    func build(_ name: String, defines: [String] = [], shared: Bool = true, source: String = FixtureBuilder.source) throws -> String {
        let out = directory + "/" + name
        var args = ["cc", shared ? "-shared" : "-c", "-fPIC", "-I", FixtureBuilder.repository.path + "/SDK/include"]
        args += defines.map { "-D" + $0 }
        args += ["-o", out, source, "-lm"]
        let (status, output) = try FixtureBuilder.run(args)
        guard status == 0 else { throw NSError(domain: "cc", code: Int(status), userInfo: [NSLocalizedDescriptionKey: output]) }
        return out
    }

    /// Writes a text file pretending to be a plugin.
    func textFile(_ name: String) throws -> String {
        let path = directory + "/" + name
        try "this is not a library\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(_ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = environment }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
