import Foundation
import XCTest

/// Rules of the source tree that no compiler checks.
final class ArchitectureTests: XCTestCase {
    /// Process-wide variables that are not a run's state, each with the reason it may be one.
    static let allowedStaticVariables: [String: String] = [
        "Sources/FactoryEngine/Core/ExecutionContext.swift": "the one pointer to the current ExecutionContext",
        "Sources/FactoryEngine/Core/Autograd.swift": "Node.counter: tape ids only grow, across every context",
        "Sources/FactoryEngine/Core/Parallel.swift": "Threads: the process's thread count, as OpenBLAS's is",
        "Sources/FactoryHost/HostServices.swift": "the log level and the Ctrl-C flag of the process",
        "Sources/FactoryHost/TensorHandles.swift": "handle scopes follow the C call stack of plugin calls",
        "Sources/FactoryHost/KindSuites.swift": "an option of `factory plugins check` (--full)",
    ]

    /// No `nonisolated(unsafe) static var` holds run state in Sources/: run state lives in an
    /// ExecutionContext, so two models (a policy and a reference model, two requests) can share a process.
    func testNoStaticVariableHoldsRunState() throws {
        let root = CLI.repository + "/Sources"
        let files = FileManager.default.enumerator(atPath: root)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        var found: [String] = []
        for file in files.sorted() {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("nonisolated(unsafe)") && line.contains("static var") {
                if Self.allowedStaticVariables["Sources/" + file] == nil { found.append("Sources/\(file):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))") }
            }
        }
        XCTAssertEqual(found, [], "run state belongs in ExecutionContext (or add a process-wide constant to the allow-list with its reason)")
    }
}
