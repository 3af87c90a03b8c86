import Foundation
import XCTest

/// The Ollama forms of the chat templates and the Modelfile an export writes, rendered by Go's text/template
/// (the engine Ollama runs them with; Scripts/ollama_render.go does what Ollama does around it): each renders
/// what the template plugin renders, with the generation prompt, the opening BOS left to Ollama's runner.
/// Skipped loudly without Go (scripts/install-test-deps.sh installs Debian's golang-go).
final class OllamaModelfileTests: XCTestCase {
    static let model = ExportCommandTests.model
    /// The tiny Llama as GGUF: its tokenizer names a BOS and an EOS (the Hugging Face fixture's names none).
    static let ggufModel = ExportCommandTests.shared + "/fixtures/tiny/llama_gguf/tiny-llama-f32.gguf"
    /// Conversations every template is rendered with: a default system prompt, a given one, an empty one, two
    /// turns, a tool result, contents that need no escaping in Go but would in other languages.
    static let conversations: [[[String: String]]] = [
        [["role": "user", "content": "Who are you?"]],
        [["role": "system", "content": "Answer in French."], ["role": "user", "content": "Hi"], ["role": "assistant", "content": "Bonjour !"],
         ["role": "user", "content": "And then?"]],
        [["role": "system", "content": ""], ["role": "user", "content": "Say \"{{ .Content }}\" and \\n"]],
        [["role": "user", "content": "Weather?"], ["role": "assistant", "content": "Looking."], ["role": "tool", "content": "{\"temp\": 21}"]],
    ]

    /// The renderer, built once per test run (go run would compile it each call); nil without Go.
    static let renderer: String? = {
        guard let go = ["/usr/bin/go", "/usr/local/go/bin/go"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let binary = NSTemporaryDirectory() + "factory-ollama-render-\(ProcessInfo.processInfo.processIdentifier)"
        let built = try? CLI.run(["build", "-o", binary, CLI.repository + "/Tests/CLITests/Scripts/ollama_render.go"], program: go,
                                 environment: ["GOCACHE": NSTemporaryDirectory() + "factory-go-cache", "GOPATH": NSTemporaryDirectory() + "factory-go-path"])
        return built?.status == 0 ? binary : nil
    }()

    func renderer() throws -> String {
        guard let renderer = Self.renderer else {
            print("SKIPPED \(name): Go is not installed (scripts/install-test-deps.sh installs golang-go), so no Ollama template is rendered")
            throw XCTSkip("Go is not installed")
        }
        return renderer
    }

    /// What Ollama renders for `messages` with `modelfile`.
    func ollama(_ modelfile: String, _ messages: String) throws -> String {
        let r = try CLI.run([modelfile, messages], program: try renderer())
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// What Factory renders with `template` (the tiny Llama GGUF's tokenizer gives the BOS and EOS texts).
    func factory(_ template: String, _ messages: String) throws -> String {
        let r = try CLI.run(["template", "render", "--model", Self.ggufModel, "--template", template, "--messages", messages, "--add-generation-prompt", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try CLI.json(r.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])?["text"] as? String ?? "(none)"
    }

    func write(_ conversation: [[String: String]], to path: String) throws {
        try JSONSerialization.data(withJSONObject: conversation).write(to: URL(fileURLWithPath: path))
    }

    /// Every in-tree template with an Ollama form renders every conversation in Go as the plugin renders it;
    /// the ones without (code rules, as for the Jinja form) are exactly those five.
    func testEveryTemplatesOllamaFormRendersWhatThePluginRenders() throws {
        _ = try renderer()
        let dir = try CLI.temporaryDirectory()
        let list = try CLI.run(["plugins", "list", "--json"])
        let components = (try CLI.json(list.stdout) as? [String: Any])?["components"] as? [[String: Any]] ?? []
        let templates = components.filter { $0["kind"] as? String == "chat-template" }.compactMap { $0["name"] as? String }.sorted()
        XCTAssertGreaterThanOrEqual(templates.count, 15)
        let bos = "<|im_start|>"  // the tiny Llama GGUF's, which Factory's render opens with where a template writes {bos} first
        var without: [String] = []
        for template in templates {
            let raw = try CLI.run(["template", "show", "--template", template, "--json"])
            XCTAssertEqual(raw.status, 0, raw.stderr)
            // a template whose prefix opens with {bos} (its Jinja form writes bos_token first): Ollama's runner adds that BOS
            let opensWithBOS = ((try CLI.json(raw.stdout) as? [String: Any])?["jinja"] as? String)?.contains("ns.has_system %}{{ bos_token") == true
            let show = try CLI.run(["template", "show", "--template", template, "--model", Self.ggufModel, "--json"])  // {bos}, {eos} filled in
            XCTAssertEqual(show.status, 0, show.stderr)
            guard let form = (try CLI.json(show.stdout) as? [String: Any])?["ollama"] as? String else { without.append(template); continue }
            let modelfile = dir + "/\(template).Modelfile"
            try "TEMPLATE \"\"\"\(form)\"\"\"\n".write(toFile: modelfile, atomically: true, encoding: .utf8)
            for (i, conversation) in Self.conversations.enumerated() {
                let messages = dir + "/\(template)-\(i).json"
                try write(conversation, to: messages)
                var expected = try factory(template, messages)
                if expected.hasPrefix(bos) && opensWithBOS { expected.removeFirst(bos.count) }
                XCTAssertEqual(try ollama(modelfile, messages), expected, "\(template), conversation \(i)")
            }
        }
        XCTAssertEqual(without, ["alpaca", "llama2", "qwen", "qwen3", "qwen3_nothink"])
    }

    /// An export with `template` writes a Modelfile: FROM the export, TEMPLATE rendering (with Ollama's
    /// insertion of SYSTEM) what the template renders, the stop words; with the adapter alone, FROM the base
    /// model and ADAPTER ./adapter.gguf. Without a template none is written, and one line says why; a
    /// Modelfile an earlier export wrote is not left behind then.
    func testExportsWriteAModelfileThatOllamaRendersAsFactoryDoes() throws {
        _ = try renderer()
        let dir = try CLI.temporaryDirectory()
        let adapter = ExportCommandTests.adapter
        let hf = try CLI.run(["export", "model_name_or_path=\(Self.ggufModel)", "adapter_name_or_path=\(adapter)", "export_dir=\(dir)/hf", "template=vicuna"])
        XCTAssertEqual(hf.status, 0, hf.stderr)
        XCTAssertTrue(hf.stdout.contains("Ollama Modelfile: the vicuna template, stop <|im_end|>"), hf.stdout)
        let modelfile = try String(contentsOfFile: dir + "/hf/Modelfile", encoding: .utf8)
        XCTAssertTrue(modelfile.contains("\nFROM .\n"), modelfile)
        XCTAssertTrue(modelfile.contains("\nSYSTEM \"\"\"A chat between a curious user"), modelfile)
        XCTAssertTrue(modelfile.hasSuffix("\nPARAMETER stop \"<|im_end|>\"\n"), modelfile)
        for (i, conversation) in Self.conversations.enumerated() {
            let messages = dir + "/\(i).json"
            try write(conversation, to: messages)
            XCTAssertEqual(try ollama(dir + "/hf/Modelfile", messages), try factory("vicuna", messages), "conversation \(i)")
        }

        let gguf = try CLI.run(["export", "--gguf", "model_name_or_path=\(Self.ggufModel)", "export_dir=\(dir)/gguf", "template=chatml", "infer_dtype=float32"])
        XCTAssertEqual(gguf.status, 0, gguf.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/gguf").sorted(), ["Modelfile", "model.gguf"])
        XCTAssertTrue(try String(contentsOfFile: dir + "/gguf/Modelfile", encoding: .utf8).contains("\nFROM ./model.gguf\n"))

        let lora = try CLI.run(["export", "--gguf-lora", "model_name_or_path=\(Self.ggufModel)", "adapter_name_or_path=\(adapter)", "export_dir=\(dir)/lora",
                                "template=chatml"])
        XCTAssertEqual(lora.status, 0, lora.stderr)
        let loraModelfile = try String(contentsOfFile: dir + "/lora/Modelfile", encoding: .utf8)
        XCTAssertTrue(loraModelfile.contains("\nFROM \(URL(fileURLWithPath: Self.ggufModel).standardizedFileURL.path)\nADAPTER ./adapter.gguf\n"), loraModelfile)

        let plain = try CLI.run(["export", "--gguf", "model_name_or_path=\(Self.ggufModel)", "export_dir=\(dir)/gguf", "infer_dtype=float32"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("no Ollama Modelfile: set template"), plain.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/gguf"), ["model.gguf"], "the earlier export's Modelfile is gone")
    }
}
