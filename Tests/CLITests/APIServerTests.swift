import Foundation
import XCTest

/// `factory api` started on a loopback port and driven by the official `openai` Python client (in
/// .build/openai-venv, which scripts/install-test-deps.sh makes; skipped loudly without it): models, a
/// greedy chat answer equal to `factory generate` on the same rendered prompt, the same answer streamed with
/// usage, n = 2, a stop sequence cut from the answer, a raw completion, penalties, a client leaving
/// mid-stream (its generation stops), a tool call read back whole and streamed (SmolLM2 calling get_weather in
/// the smollm2 template's tool format), two requests decoding together with the answers each gives alone,
/// two LoRA adapters served over the base (api_adapters) and mixed in one batch, a
/// crowd beyond the rows and the queue refused with 503, /metrics, and 401 / 404 / 400 / 413 in OpenAI's
/// error shape; SIGTERM then stops the server with exit status 0.
final class APIServerTests: XCTestCase {
    static let python = CLI.repository + "/.build/openai-venv/bin/python"

    func testTheOpenAIClientGetsFactorysAnswers() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            print("SKIPPED \(name): no .build/openai-venv with the openai client (scripts/install-test-deps.sh makes it)")
            throw XCTSkip("the openai client is not installed")
        }
        let factory = try CLI.releaseWithSmolLM2(name), model = "HuggingFaceTB/SmolLM2-135M-Instruct"
        let port = 20000 + Int(ProcessInfo.processInfo.processIdentifier % 20000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: factory)
        let lora = CLI.repository + "/../shared/fixtures/smollm2/lora_sft"
        // exact products (int8_activations=false): the answers are compared with what the identity adapter was trained
        // to say, a near tie under 8-bit inputs (Int8ProductTests and plugins check hold those to batched = alone)
        server.arguments = ["api", "model_name_or_path=\(model)", "template=smollm2", "api_max_sequences=2", "api_queue_size=2", "int8_activations=false",
                            #"api_adapters={"identity": "\#(lora)/adapter_final", "untrained": "\#(lora)/adapter_init"}"#]
        var environment = ProcessInfo.processInfo.environment
        (environment["API_HOST"], environment["API_PORT"], environment["API_KEY"], environment["API_MODEL_NAME"]) = ("127.0.0.1", "\(port)", "secret", "smollm2")
        server.environment = environment
        let log = Pipe()
        server.standardError = log
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        // ready when /health answers (bounded: 60 tries, 0.5 s apart)
        var ready = false
        for _ in 0..<60 where !ready {
            ready = try CLI.run(["-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:\(port)/health', timeout=1)"], program: Self.python).status == 0
            if !ready { Thread.sleep(forTimeInterval: 0.5) }
        }
        XCTAssertTrue(ready, "the server answers /health")

        let run = try CLI.run([CLI.repository + "/Tests/CLITests/Scripts/openai_client.py", "http://127.0.0.1:\(port)/v1", "secret", "smollm2"], program: Self.python)
        XCTAssertEqual(run.status, 0, run.stderr)
        let out = try CLI.json(run.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any] ?? [:]
        XCTAssertEqual(out["models"] as? [String], ["smollm2", "identity", "untrained"])
        let chat = out["chat"] as? [String: Any] ?? [:], stream = out["stream"] as? [String: Any] ?? [:]
        let text = chat["text"] as? String ?? ""
        XCTAssertEqual(chat["finish"] as? String, "length")
        XCTAssertEqual((chat["usage"] as? [String: Any])?["completion_tokens"] as? Int, 16)
        XCTAssertEqual(stream["text"] as? String, text, "streamed as answered whole")
        XCTAssertEqual((stream["usage"] as? [String: Any])?["total_tokens"] as? Int, (chat["usage"] as? [String: Any])?["total_tokens"] as? Int)
        XCTAssertEqual((out["n"] as? [String])?.count, 2)
        let stop = out["stop"] as? [String: Any] ?? [:]
        let word = stop["word"] as? String ?? "?"
        XCTAssertEqual(stop["finish"] as? String, "stop")
        XCTAssertEqual(stop["text"] as? String, text.components(separatedBy: word).first, "the answer up to the stop sequence, without it")
        // OpenAI's penalties: the greedy continuation of "1 1 1 …" repeats itself, with a frequency penalty it does not
        let repeated = out["repeat"] as? String ?? "", penalized = out["penalized"] as? String ?? ""
        XCTAssertTrue(repeated.contains("1 1 1"), repeated)
        XCTAssertNotEqual(penalized, repeated)
        XCTAssertFalse(penalized.contains("1 1 1"), penalized)
        let batched = out["batched"] as? [String: Any] ?? [:]
        XCTAssertEqual(batched["widest_batch"] as? Int, 2, "two requests decoded together")
        XCTAssertEqual(batched["together"] as? [String], batched["alone"] as? [String], "greedy answers in a batch equal those alone")
        // several adapters over one base: the trained one answers as trained, the untrained one (B = 0) as the
        // base, and the three asked at once (one batch, rows with different adapters) as each alone
        let adapters = out["adapters"] as? [String: Any] ?? [:]
        let alone = adapters["alone"] as? [String: String] ?? [:], together = adapters["together"] as? [String: String] ?? [:]
        XCTAssertEqual(alone.count, 3)
        XCTAssertEqual(together, alone, "rows with different adapters in one batch answer as each alone")
        XCTAssertEqual(alone["untrained"], alone["smollm2"], "an adapter with B = 0 is the base")
        XCTAssertNotEqual(alone["identity"], alone["smollm2"])
        XCTAssertTrue(alone["identity"]?.contains("SmolLM") ?? false, "the identity adapter's answer: \(alone["identity"] ?? "")")
        XCTAssertGreaterThanOrEqual(adapters["widest_batch"] as? Int ?? 0, 2)
        // tool calls read back with the template's format, whole and streamed
        let call = out["tool_call"] as? [String: Any] ?? [:], streamedCall = out["tool_stream"] as? [String: Any] ?? [:]
        XCTAssertEqual(call["finish"] as? String, "tool_calls")
        XCTAssertTrue(call["content"] is NSNull, "no content beside the call: \(call)")
        let calls = call["calls"] as? [[String: Any]] ?? []
        XCTAssertEqual(calls.count, 1)
        XCTAssertEqual(calls.first?["name"] as? String, "get_weather")
        XCTAssertEqual(calls.first?["arguments"] as? String, #"{"city": "Paris"}"#)
        XCTAssertTrue((calls.first?["id"] as? String ?? "").hasPrefix("call_"))
        XCTAssertEqual(streamedCall["finish"] as? String, "tool_calls")
        XCTAssertEqual(streamedCall["content"] as? String, "")
        let streamedCalls = streamedCall["calls"] as? [[String: Any]] ?? []
        XCTAssertEqual(streamedCalls.count, 1)
        XCTAssertEqual(streamedCalls.first?["name"] as? String, "get_weather")
        XCTAssertEqual(streamedCalls.first?["arguments"] as? String, calls.first?["arguments"] as? String, "the streamed pieces make the whole arguments")
        XCTAssertEqual(streamedCalls.first?["name_first"] as? Bool, true, "the name comes before any argument")
        XCTAssertTrue((streamedCalls.first?["id"] as? String ?? "").hasPrefix("call_"))
        XCTAssertGreaterThan(streamedCall["argument_pieces"] as? Int ?? 0, 2, "the arguments stream in pieces")
        XCTAssertTrue((out["tool_choice_none"] as? String ?? "").contains("Action: get_weather"), "tool_choice none: the call stays text")
        XCTAssertEqual(out["forced_tool"] as? Int, 400)
        let crowd = out["crowd"] as? [Int] ?? []
        XCTAssertEqual(crowd.count, 6)
        XCTAssertTrue(crowd.allSatisfy { $0 == 200 || $0 == 503 }, "\(crowd)")
        XCTAssertGreaterThanOrEqual(crowd.filter { $0 == 503 }.count, 2, "2 rows + 2 waiting places leave at least 2 of 6 refused: \(crowd)")
        XCTAssertGreaterThanOrEqual(crowd.filter { $0 == 200 }.count, 2, "\(crowd)")
        XCTAssertEqual(out["queue_after"] as? Int, 0)
        XCTAssertEqual(out["wrong_key"] as? Int, 401)
        XCTAssertEqual(out["unknown_model"] as? Int, 404)
        XCTAssertEqual(out["bad_field"] as? Int, 400)
        XCTAssertEqual(out["too_large"] as? Int, 413)

        // the greedy answer is factory generate's on the prompt the template renders
        let dir = try CLI.temporaryDirectory()
        try #"[{"role": "user", "content": "Who are you?"}]"#.write(toFile: dir + "/m.json", atomically: true, encoding: .utf8)
        let rendered = try CLI.run(["template", "render", "--model", model, "--template", "smollm2", "--messages", dir + "/m.json", "--add-generation-prompt", "--json"],
                                   program: factory)
        let prompt = (try CLI.json(rendered.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])?["text"] as? String ?? ""
        let generated = try CLI.run(["generate", "model_name_or_path=\(model)", "int8_activations=false", "--prompt", prompt, "--max-new-tokens", "16", "--greedy", "--json"], program: factory)
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertEqual((try CLI.json(generated.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])?["text"] as? String, text)
        let completion = out["completion"] as? [String: Any] ?? [:]
        let raw = try CLI.run(["generate", "model_name_or_path=\(model)", "int8_activations=false", "--prompt", "The capital of France is", "--max-new-tokens", "8", "--greedy", "--json"],
                              program: factory)
        XCTAssertEqual(completion["text"] as? String, (try CLI.json(raw.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])?["text"] as? String)

        let metrics = try CLI.run(["-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics').read().decode())"],
                                  program: Self.python).stdout
        XCTAssertTrue(metrics.contains("factory_requests_total{path=\"/v1/chat/completions\",status=\"401\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("factory_queue_depth 0"), metrics)
        server.terminate()  // SIGTERM: a graceful stop
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0)
        let said = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(said.contains("POST /v1/chat/completions 401") && said.contains("POST /v1/chat/completions 200 stream 16 tokens"), said)
        XCTAssertTrue(said.contains("continuous batching: up to 2 sequences decode together, 2 more may wait"), said)
        // the stream abandoned after 3 chunks of 1,500 tokens stopped at once (its log line counts its tokens)
        let abandoned = said.split(separator: "\n").first { $0.hasPrefix("POST /v1/completions 200 stream") }.map(String.init) ?? ""
        let made = Int(abandoned.split(separator: " ").dropFirst(4).first ?? "") ?? 9999
        XCTAssertLessThan(made, 50, abandoned)
    }
}
