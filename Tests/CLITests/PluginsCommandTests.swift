import Foundation
import XCTest

/// `factory plugins list|inspect|check` on the real binary and the in-tree plugins.
final class PluginsCommandTests: XCTestCase {
    func testListJSONShowsTheDefaultPluginsWithFileAndABI() throws {
        let r = try CLI.run(["plugins", "list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        XCTAssertEqual(root["abi"] as? String, "1.11.0")
        let components = try XCTUnwrap(root["components"] as? [[String: Any]])
        let templates = components.filter { $0["kind"] as? String == "chat-template" }.compactMap { $0["name"] as? String }
        XCTAssertTrue(templates.contains("alpaca") && templates.contains("smollm2"), "\(templates)")
        for c in components {
            XCTAssertEqual(c["abi"] as? String, "1.11.0")  // in-tree plugins are built with the current SDK
            XCTAssertTrue((c["file"] as? String ?? "").hasSuffix(".so"))
            XCTAssertEqual(c["source"] as? String, "default directory")
        }
    }

    func testListTextHasOneRowPerComponent() throws {
        let r = try CLI.run(["plugins", "list"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("KIND"), r.stdout)
        XCTAssertTrue(r.stdout.split(separator: "\n").contains { $0.hasPrefix("chat-template ") && $0.contains(" alpaca ") }, r.stdout)
        XCTAssertTrue(r.stdout.split(separator: "\n").contains { $0.hasPrefix("finetuning-method ") && $0.contains(" lora ") }, r.stdout)
    }

    func testInspectShowsOnePluginsDeclaration() throws {
        let file = CLI.products + "/libFactoryPluginTemplateAlpaca.so"
        let r = try CLI.run(["plugins", "inspect", file, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try CLI.json(r.stdout) as? [String: Any])
        XCTAssertEqual(root["build"] as? String, "c")
        let components = try XCTUnwrap(root["components"] as? [[String: Any]])
        XCTAssertEqual(components.count, 1)
        XCTAssertEqual(components.first?["id"] as? String, "org.factory.template.alpaca")
    }

    func testEveryInTreePluginPassesTheChecker() throws {
        let plugins = try FileManager.default.contentsOfDirectory(atPath: CLI.products).filter { $0.hasPrefix("libFactoryPlugin") && $0.hasSuffix(".so") }
        XCTAssertFalse(plugins.isEmpty)
        for name in plugins {
            let r = try CLI.run(["plugins", "check", CLI.products + "/" + name])
            XCTAssertEqual(r.status, 0, "\(name):\n\(r.stdout)\(r.stderr)")
            XCTAssertTrue(r.stdout.contains(" 0 failed"), r.stdout)
        }
    }

    func testARefusedPluginExitsNonZeroWithOneLineNamingIt() throws {
        let dir = try CLI.temporaryDirectory()
        let bogus = dir + "/bogus.so"
        try "not a library".write(toFile: bogus, atomically: true, encoding: .utf8)
        let r = try CLI.run(["plugins", "list", "--plugins", bogus])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "factory: error: plugin \(bogus): not a shared library (no ELF header)\n")
    }

    func testFactoryPluginPathIsSearched() throws {
        let dir = try CLI.temporaryDirectory()
        _ = try CLI.sh("make -s -C \(CLI.repository)/SDK/templates/c-plugin FACTORY_SDK=\(CLI.repository)/SDK OUT=\(dir)/q.so")
        let r = try CLI.run(["plugins", "list", "--json"], environment: ["FACTORY_PLUGIN_PATH": dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"example_absmax\"") && r.stdout.contains("\"FACTORY_PLUGIN_PATH\""), r.stdout)
    }
}
