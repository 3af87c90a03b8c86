@testable import FactoryConfig
import Foundation
import XCTest

/// No key is accepted and ignored: every schema key is read by some part of Factory (a RunConfig or
/// ConfigReader accessor call names it in Sources/ or Plugins/) or listed in UnimplementedKeys —
/// never both — and each listed key refuses or notes every value that is not quiet, in one line.
final class KeyHandlingTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The text of every Swift file that can read a config key (the schema's own tables excluded).
    func readerSources() throws -> [(String, String)] {
        var files: [(String, String)] = []
        for dir in ["Sources", "Plugins"] {
            let base = Self.root.appendingPathComponent(dir)
            let walker = FileManager.default.enumerator(atPath: base.path)
            while let path = walker?.nextObject() as? String {
                guard path.hasSuffix(".swift"), !["ConfigSchema.swift", "KeyHandling.swift", "CrossKeyRules.swift", "ConfigDocs.swift"]
                    .contains((path as NSString).lastPathComponent) else { continue }
                files.append((dir + "/" + path, try String(contentsOf: base.appendingPathComponent(path), encoding: .utf8)))
            }
        }
        XCTAssertGreaterThan(files.count, 100)
        return files
    }

    func testEveryKeyIsReadOrDeclaredAndNeverBoth() throws {
        // an accessor call: c.string("key"), config.int("key"), values["key"], LoRAMethod.list(config, "key")
        let call = try Regex(#"(?:^|[^A-Za-z_])(?:string|int|double|bool|list|value)\((?:config, )?"([a-z0-9_]+)"|values\["([a-z0-9_]+)"\]"#)
        var readers: [String: [String]] = [:]
        for (file, text) in try readerSources() {
            for match in text.matches(of: call) {
                for i in 1..<match.output.count { if let key = match.output[i].substring { readers[String(key), default: []].append(file) } }
            }
        }
        for group in ConfigSchema.groups {
            for key in group.keys {
                let files = readers[key.name] ?? []
                let declared = UnimplementedKeys.table[key.name] != nil
                XCTAssertTrue(declared || !files.isEmpty, "\(key.name): no reader and no declared handling (implement it, refuse it, or note it)")
                XCTAssertFalse(declared && !files.isEmpty, "\(key.name): declared unimplemented but read in \(files.joined(separator: ", "))")
            }
        }
        for key in UnimplementedKeys.table.keys { XCTAssertNotNil(ConfigSchema.keys[key], "\(key): declared but not in the schema") }
    }

    /// A value of `key` the schema accepts and that is not quiet.
    func loudValue(_ key: ConfigKey, _ handling: KeyHandling) -> String? {
        let candidates: [String]
        switch key.rule {
        case .oneOf(let allowed)?: candidates = allowed
        default:
            switch key.type {
            case .bool: candidates = ["true", "false"]
            case .int, .float: candidates = ["7", "0.5", "2", "1", "0"]
            case .string: candidates = ["something"]
            case .list: candidates = ["a,b"]
            case .any: candidates = ["{a: 1}"]
            }
        }
        return candidates.first { text in
            var c = RunConfig()
            try? c.apply(key: key.name, text: text, origin: "t")
            guard let value = c.values[key.name], handling.applies(to: value) else { return false }
            do { _ = try RunConfig.load(file: nil, overrides: ["\(key.name)=\(text)"]); return true } catch {
                return "\(error)".hasSuffix(handling.message)  // refused by its handling: accepted by the schema, and loud
            }
        }
    }

    func testEveryDeclaredKeyRefusesOrNotesInOneLineAndQuietValuesPass() throws {
        for (name, handling) in UnimplementedKeys.table.sorted(by: { $0.key < $1.key }) {
            let key = try XCTUnwrap(ConfigSchema.keys[name])
            let loud = try XCTUnwrap(loudValue(key, handling), "\(name): no accepted loud value found")
            let origin = "override '\(name)=\(loud)'"
            switch handling.action {
            case .refuse:
                XCTAssertThrowsError(try RunConfig.load(file: nil, overrides: ["\(name)=\(loud)"])) { error in
                    XCTAssertTrue("\(error)".hasPrefix("\(origin) \(name): "), "\(error)")
                    XCTAssertFalse("\(error)".contains("\n"))
                }
            case .note:
                let config = try RunConfig.load(file: nil, overrides: ["\(name)=\(loud)"])
                XCTAssertEqual(config.notes.filter { $0.hasPrefix("\(origin) \(name): ") }.count, 1, "\(name): \(config.notes)")
            }
            for quiet in handling.quiet where quiet != "[]" {
                let config = try RunConfig.load(file: nil, overrides: ["\(name)=\(quiet)"])
                XCTAssertFalse(config.notes.contains { $0.contains(" \(name): ") }, "\(name)=\(quiet) should pass silently: \(config.notes)")
            }
        }
    }

    func testTypicalLLaMAFactoryKeys() throws {
        let notes = try RunConfig.load(file: nil, overrides: ["bf16=true", "fp16=true", "report_to=wandb", "deepspeed=ds_z3.json", "use_galore=false"]).notes
        XCTAssertEqual(notes.count, 3, "\(notes)")
        XCTAssertTrue(notes.contains { $0.hasSuffix("fp16: true — Factory computes in float32 here; its mixed precision is bf16: true (bf16 products on CPUs with AVX512_BF16 or AMX)") })
        XCTAssertFalse(notes.contains { $0.contains("'bf16=true'") }, "bf16 is implemented (MixedPrecisionTests): \(notes)")
        XCTAssertThrowsError(try RunConfig.load(file: nil, overrides: ["use_galore=true"])) { error in
            XCTAssertEqual("\(error)", "override 'use_galore=true' use_galore: true — GaLore is not implemented")
        }
        XCTAssertThrowsError(try RunConfig.load(file: nil, overrides: ["do_predict=true"])) { error in  // LLaMA-Factory's rule
            XCTAssertTrue("\(error)".contains("do_predict: true: set predict_with_generate: true"), "\(error)")
        }
        XCTAssertNoThrow(try RunConfig.load(file: nil, overrides: ["do_train=true", "report_to=none", "eval_strategy=steps", "save_strategy=no"]))
    }
}
