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
        "Sources/FactoryConformance/KindSuites.swift": "an option of `factory plugins check` (--full)",
        "Sources/FactoryConformance/ModelFamilyConformance.swift": "an option of `factory plugins check` (--model-config)",
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

    /// The layer of each host target, as docs/architecture.md states it (its `<!-- layers: ... -->` line).
    func documentedLayers() throws -> [String: Int] {
        let doc = try String(contentsOfFile: CLI.repository + "/docs/architecture.md", encoding: .utf8)
        let line = try XCTUnwrap(doc.split(separator: "\n").first { $0.hasPrefix("<!-- layers:") }, "docs/architecture.md states no layers")
        var layers: [String: Int] = [:]
        for pair in line.dropFirst("<!-- layers:".count).split(separator: " ") where pair.contains("=") {
            let parts = pair.split(separator: "=")
            layers[String(parts[0])] = Int(parts[1])
        }
        return layers
    }

    /// Package.swift's dependencies of each target: target or product names, package names left out.
    func packageDependencies() throws -> [String: [String]] {
        let manifest = try String(contentsOfFile: CLI.repository + "/Package.swift", encoding: .utf8)
        let declaration = try NSRegularExpression(pattern: #"\.(?:target|executableTarget)\(name: "([A-Za-z0-9_]+)", dependencies: \[(.*?)\]"#,
                                                  options: [.dotMatchesLineSeparators])
        let name = try NSRegularExpression(pattern: #"(?<!package: )"([A-Za-z0-9_\-]+)""#)
        var graph: [String: [String]] = [:]
        let whole = NSRange(manifest.startIndex..., in: manifest)
        for match in declaration.matches(in: manifest, range: whole) {
            let target = String(manifest[Range(match.range(at: 1), in: manifest)!])
            let list = String(manifest[Range(match.range(at: 2), in: manifest)!])
            graph[target] = name.matches(in: list, range: NSRange(list.startIndex..., in: list)).map { String(list[Range($0.range(at: 1), in: list)!]) }
        }
        return graph
    }

    /// Every host target depends only on targets of lower layers (docs/architecture.md's table).
    func testTheTargetGraphOnlyPointsDown() throws {
        let layers = try documentedLayers()
        let graph = try packageDependencies()
        XCTAssertGreaterThanOrEqual(graph.count, 10, "Package.swift's targets were not read")
        var checked = 0
        for (target, dependencies) in graph.sorted(by: { $0.key < $1.key }) {
            guard let layer = layers[target] else { continue }  // plugins and benchmarks are not host layers
            for dependency in dependencies {
                let below = try XCTUnwrap(layers[dependency], "\(target) depends on \(dependency), which has no layer in docs/architecture.md")
                XCTAssertLessThan(below, layer, "\(target) (layer \(layer)) depends on \(dependency) (layer \(below)): an edge that does not point down")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
        for target in ["factory", "FactoryTraining", "FactoryPipeline", "FactoryData", "FactoryHost", "FactoryEngine"] {
            XCTAssertNotNil(graph[target], "\(target) not found in Package.swift")
        }
    }

    /// Every function member of the C ABI's headers carries one of the thread tags status.h defines, in
    /// its comment (or a trailing one), and no other tag is used.
    func testEveryABIMemberHasADefinedThreadTag() throws {
        let tags = ["[load]", "[thread-safe]", "[instance]", "[build]", "[call]"]
        let dir = CLI.repository + "/SDK/include/factory"
        let files = try (FileManager.default.contentsOfDirectory(atPath: dir).map { dir + "/" + $0 }
            + FileManager.default.contentsOfDirectory(atPath: dir + "/kinds").map { dir + "/kinds/" + $0 }).filter { $0.hasSuffix(".h") }
        let member = try NSRegularExpression(pattern: #"\(\*\s*([a-z_]+)\s*\)\s*\("#)
        var members = 0, untagged: [String] = []
        for file in files.sorted() {
            let lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
            for (i, line) in lines.enumerated() {
                guard let m = member.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { continue }
                members += 1
                var comment = line  // the member's statement (trailing comment) and the comment block above it
                var j = i
                while !lines[j].trimmingCharacters(in: .whitespaces).hasSuffix(";") && j + 1 < lines.count { j += 1; comment += lines[j] }
                var k = i - 1
                if k >= 0, lines[k].trimmingCharacters(in: .whitespaces).hasSuffix("*/") {
                    while k >= 0 {
                        comment += lines[k]
                        if lines[k].contains("/*") { break }
                        k -= 1
                    }
                }
                if !tags.contains(where: { comment.contains($0) }) {
                    untagged.append("\(URL(fileURLWithPath: file).lastPathComponent):\(i + 1) \(String(line[Range(m.range(at: 1), in: line)!]))")
                }
            }
            let text = lines.joined(separator: "\n")
            let used = try NSRegularExpression(pattern: #"Thread: (\[[a-z-]+\])"#)
            for u in used.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let tag = String(text[Range(u.range(at: 1), in: text)!])
                XCTAssertTrue(tags.contains(tag), "\(file): undefined thread tag \(tag)")
            }
        }
        XCTAssertGreaterThan(members, 90)
        XCTAssertEqual(untagged, [], "members without a thread tag")
    }
}
