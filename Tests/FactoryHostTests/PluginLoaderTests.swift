import FactoryConformance
import FactoryHost
import XCTest

/// Every refusal of the loader names the file (and both versions or both files where relevant).
final class PluginLoaderTests: XCTestCase {
    var fixtures: FixtureBuilder!

    override func setUpWithError() throws { fixtures = try FixtureBuilder() }

    func refusal(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try PluginLoader.load(path, source: .explicit)
            XCTFail("\(path) loaded but should have been refused", file: file, line: line)
            return ""
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "message does not name the file: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "message is not one line: \(message)", file: file, line: line)
            return message
        }
    }

    func testLoadsAWellFormedPlugin() throws {
        let path = try fixtures.build("good.so")
        let plugin = try PluginLoader.load(path, source: .explicit)
        defer { plugin.shutdown() }
        XCTAssertEqual(plugin.abiVersionString, "1.0.0")  // a plugin built for 1.0 loads into a 1.1 host
        XCTAssertEqual(plugin.components.map(\.name), ["fixture"])
        XCTAssertEqual(plugin.components.first?.kind, .chatTemplate)
        XCTAssertEqual(plugin.components.first?.id, "org.factory.test.fixture")
    }

    func testRefusesATextFile_notASharedLibrary() throws {
        let message = refusal(try fixtures.textFile("notes.so"))
        XCTAssertTrue(message.contains("not a shared library"), message)
    }

    func testRefusesAnObjectFile_notASharedLibrary() throws {
        let message = refusal(try fixtures.build("object.so", shared: false))
        XCTAssertTrue(message.contains("not a shared library"), message)
    }

    func testRefusesAMissingFile() throws {
        let message = refusal(fixtures.directory + "/absent.so")
        XCTAssertTrue(message.contains("no such file"), message)
    }

    func testRefusesALibraryWithoutTheEntrySymbol() throws {
        let message = refusal(try fixtures.build("noentry.so", defines: ["FIXTURE_NO_ENTRY"]))
        XCTAssertTrue(message.contains("no entry symbol 'factory_plugin_entry'"), message)
    }

    func testRefusesAnotherABIMajor_namingBothVersions() throws {
        let message = refusal(try fixtures.build("abi2.so", defines: ["FIXTURE_ABI_MAJOR=2"]))
        XCTAssertTrue(message.contains("ABI 2.0.0"), message)
        XCTAssertTrue(message.contains("this host speaks ABI 1.11.0"), message)
    }

    func testRefusesAnEntryTableSmallerThanABI1() throws {
        let message = refusal(try fixtures.build("small.so", defines: ["FIXTURE_SMALL_ENTRY"]))
        XCTAssertTrue(message.contains("entry table is 16 bytes"), message)
    }

    func testInitFailureCarriesThePluginsOwnMessage() throws {
        let message = refusal(try fixtures.build("initfails.so", defines: ["FIXTURE_INIT_FAILS"]))
        XCTAssertTrue(message.contains("init failed: fixture: no licence key found in FIXTURE_LICENCE"), message)
    }

    func testDuplicateNamesAtTheSamePriority_nameBothFiles() throws {
        let a = try fixtures.build("a.so", defines: ["FIXTURE_NAME=\"dup\""])
        let b = try fixtures.build("b.so", defines: ["FIXTURE_NAME=\"dup\""])
        let set = PluginSet()
        XCTAssertThrowsError(try set.add(files: [a, b], source: .explicit)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(a) && message.contains(b), message)
            XCTAssertTrue(message.contains("chat-template 'dup'"), message)
        }
    }

    func testAnExplicitPluginOverridesADefaultOne_andSaysSo() throws {
        let a = try fixtures.build("default.so", defines: ["FIXTURE_NAME=\"same\""])
        let b = try fixtures.build("explicit.so", defines: ["FIXTURE_NAME=\"same\""])
        let set = PluginSet()
        try set.add(files: [a], source: .defaultDirectory)
        try set.add(files: [b], source: .explicit)
        XCTAssertEqual(set.registry(.chatTemplate).find("same")?.file, b)
        XCTAssertEqual(set.notices.count, 1)
        XCTAssertTrue(set.notices[0].contains(b) && set.notices[0].contains(a) && set.notices[0].contains("overrides"), set.notices[0])
    }

    func testALowerPriorityPluginDoesNotOverride() throws {
        let a = try fixtures.build("explicit.so", defines: ["FIXTURE_NAME=\"same\""])
        let b = try fixtures.build("env.so", defines: ["FIXTURE_NAME=\"same\""])
        let set = PluginSet()
        try set.add(files: [a], source: .explicit)
        XCTAssertThrowsError(try set.add(files: [b], source: .environment))
    }

    func testLookupOfAnUnregisteredNameListsTheRegisteredOnes() throws {
        let set = PluginSet()
        try set.add(files: [try fixtures.build("x.so", defines: ["FIXTURE_NAME=\"chatml\""]), try fixtures.build("y.so", defines: ["FIXTURE_NAME=\"alpaca\""])], source: .explicit)
        XCTAssertThrowsError(try set.registry(.chatTemplate).lookup("llama3")) { error in
            XCTAssertEqual("\(error)", "no chat-template plugin provides 'llama3' (registered: alpaca, chatml)")
        }
    }

    func testTheCheckerReportsATrapInsteadOfDying() throws {
        let path = try fixtures.build("aborts.so", defines: ["FIXTURE_CREATE_ABORTS"])
        let results = PluginChecker.check(file: path)
        XCTAssertTrue(results.first?.passed ?? false, "loading itself should pass")
        let crashed = results.filter { !$0.passed && $0.detail.contains("crashed the process (signal 6)") }
        XCTAssertFalse(crashed.isEmpty, results.map { "\($0.name): \($0.detail)" }.joined(separator: "\n"))
    }

    func testTheCheckerPassesAConformingPluginsABIRules() throws {
        let results = PluginChecker.check(file: try fixtures.build("good.so"))
        let abiRules = results.filter { !$0.name.contains("render") && !$0.name.contains("malformed messages") }
        XCTAssertTrue(abiRules.allSatisfy(\.passed), abiRules.filter { !$0.passed }.map { "\($0.name): \($0.detail)" }.joined(separator: "\n"))
        // The fixture's render() always fails, so the template suite must catch it.
        XCTAssertTrue(results.contains { !$0.passed && $0.name.contains("renders a conversation") })
    }
}
