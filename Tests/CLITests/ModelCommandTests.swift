import Foundation
import XCTest

/// tokenize, score, generate and chat on the real binary.
final class ModelCommandTests: XCTestCase {
    let tiny = CLI.repository + "/../shared/fixtures/tiny/llama"
    let tinyIDs = "342,223,361,460,279,392,80,281,477,332,366,85,312,502,317,311,430,91,280,475,16,292,20,21"

    func testTokenizeTheDefaultModel() throws {
        let r = try CLI.run(["tokenize", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--text", "The capital of France is", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        XCTAssertEqual(root["ids"] as? [Int], [504, 3575, 282, 4649, 314])  // smollm2/forward/cases.json short_sentence
        XCTAssertEqual((root["tokens"] as? [String])?.first, "The")
    }

    func testScoreMatchesTransformersLoss() throws {
        let r = try CLI.run(["score", "--model", tiny, "--ids", tinyIDs, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        XCTAssertEqual(root["loss"] as? Double ?? .nan, 6.60856819152832, accuracy: 1e-5)  // tiny/llama/reference.json
        XCTAssertEqual((root["logprobs"] as? [Double])?.count, 23)
    }

    func testGenerateGreedyIsDeterministicAndHonoursMaxNewTokens() throws {
        let args = ["generate", "--model", tiny, "--ids", "342,223,361", "--greedy", "--ignore-eos", "--max-new-tokens", "5", "--json"]
        let a = try CLI.run(args), b = try CLI.run(args)
        XCTAssertEqual(a.status, 0, a.stderr)
        let root = try XCTUnwrap(try CLI.json(a.stdout) as? [String: Any])
        XCTAssertEqual((root["ids"] as? [Int])?.count, 5)
        XCTAssertEqual(a.stdout, b.stdout)
    }

    func testBadInputIsOneLineAndNonZero() throws {
        let r = try CLI.run(["generate", "--model", tiny, "--ids", "1,99999", "--greedy"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "factory: error: --ids: 99999 is outside the vocabulary of 512\n")
        let missing = try CLI.run(["score", "--model", "/nonexistent/model.gguf", "--text", "hi"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/model.gguf"), missing.stderr)
    }

    func testAPromptLongerThanTheContextIsRefused() throws {
        let ids = Array(repeating: "5", count: 300).joined(separator: ",")
        let g = try CLI.run(["generate", "--model", tiny, "--ids", ids, "--greedy"])
        XCTAssertEqual(g.status, 1)
        XCTAssertEqual(g.stderr, "factory: error: the prompt has 300 tokens, the model's context is 256: shorten it\n")
        let s = try CLI.run(["score", "--model", tiny, "--ids", ids])
        XCTAssertEqual(s.status, 1)
        XCTAssertEqual(s.stderr, "factory: error: the text has 300 tokens, the model's context is 256: shorten it\n")
    }

    func testChatStreamsClearsAndExits() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir + "/input.txt"
        try "What is 2+2?\nclear\nexit\n".write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CLI.run(["-c", "\(CLI.binary) chat --model HuggingFaceTB/SmolLM2-135M-Instruct do_sample=false max_new_tokens=12 < \(input)"],
                            program: "/bin/sh")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("User: Assistant: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("History has been removed."), r.stdout)
        XCTAssertTrue(r.stdout.contains("4"), r.stdout)
    }
}

extension ModelCommandTests {
    /// LLaMA-Factory's rope_scaling key: at inference it doubles the context with the named strategy, so
    /// `rope_scaling=linear` on the tiny Llama (256 positions) scores as transformers scores it with
    /// {rope_type: linear, factor: 2} (FactoryModelTests/Fixtures/config_variants), from the directory and
    /// from the GGUF; dynamic cannot be written into a GGUF's llama.cpp keys and is refused in one line.
    func testRopeScalingKeyRewritesTheModelConfig() throws {
        let variants = try XCTUnwrap(try CLI.json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: CLI.repository
            + "/Tests/FactoryModelTests/Fixtures/config_variants/reference.json")), as: UTF8.self)) as? [String: Any])
        let linear = try XCTUnwrap((variants["cases"] as? [[String: Any]])?.first {
            ($0["overrides"] as? [String: Any]).flatMap { $0["rope_parameters"] as? [String: Any] }?["rope_type"] as? String == "linear"
        })
        let gguf = CLI.repository + "/../shared/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"
        for model in [tiny, gguf] {
            let r = try CLI.run(["score", "rope_scaling=linear", "--model", model, "--ids", tinyIDs, "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("rope_scaling: linear, factor 2 (inference), max length 256 → 512"), r.stderr)
            let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
            XCTAssertEqual(root["loss"] as? Double ?? .nan, linear["loss"] as? Double ?? 0, accuracy: 1e-5, model)
        }
        let refused = try CLI.run(["score", "rope_scaling=dynamic", "--model", gguf, "--ids", tinyIDs])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("rope_scaling: dynamic cannot be applied to a GGUF file"), refused.stderr)
    }
}

extension ModelCommandTests {
    /// Nothing in a checkpoint is left behind: the tiny Qwen2 (q/k/v biases) relabelled as a Llama is
    /// refused naming a bias tensor, instead of loading without its biases.
    func testACheckpointWithTensorsTheFamilyHasNoPlaceForIsRefused() throws {
        let dir = try CLI.temporaryDirectory()
        let source = CLI.repository + "/../shared/fixtures/tiny/qwen2"
        for file in ["model.safetensors", "tokenizer.json"] { try FileManager.default.copyItem(atPath: source + "/" + file, toPath: dir + "/" + file) }
        let config = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
            .replacingOccurrences(of: "\"model_type\": \"qwen2\"", with: "\"model_type\": \"llama\"")
        XCTAssertTrue(config.contains("\"model_type\": \"llama\""))
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let r = try CLI.run(["score", "--model", dir, "--ids", "5,6,7"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("has no place in a llama model") && r.stderr.contains(".bias'"), r.stderr)
    }
}

extension ModelCommandTests {
    /// `score --dump-logits FILE` writes the logits as raw little-endian float32 [tokens, vocab]: the
    /// tiny Llama's equal transformers' reference logits (tiny/llama/seq0.logits.f32.bin) within 1e-4.
    func testScoreDumpsTheLogitsForAnAuthorToCompare() throws {
        let file = try CLI.temporaryDirectory() + "/logits.f32"
        let r = try CLI.run(["score", "--model", tiny, "--ids", tinyIDs, "--dump-logits", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("logits [24, 512] float32 → \(file)"), r.stderr)
        func floats(_ path: String) throws -> [Float] { try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        let dumped = try floats(file), reference = try floats(tiny + "/seq0.logits.f32.bin")
        XCTAssertEqual(dumped.count, 24 * 512)
        XCTAssertEqual(dumped.count, reference.count)
        XCTAssertLessThanOrEqual(zip(dumped, reference).map { abs($0 - $1) }.max() ?? .infinity, 1e-4)
    }
}
