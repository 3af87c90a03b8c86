import FactoryConfig
import XCTest

/// Every rule of the schema at its edges: the bounds themselves, and the nearest values beyond them,
/// go through RunConfig as a user's override would (an open bound refused, a closed one accepted).
final class ValueRuleTests: XCTestCase {
    /// A config with `key=text`, or the one-line refusal. A key Factory does not implement is refused
    /// by UnimplementedKeys after its value passed the schema: that counts as the value accepted here.
    func load(_ key: String, _ text: String) -> String? {
        do {
            _ = try RunConfig.load(file: nil, overrides: ["\(key)=\(text)"] + (key == "num_train_epochs" ? ["max_steps=5"] : []))
            return nil
        } catch {
            if let handling = UnimplementedKeys.table[key], "\(error)".hasSuffix(" — " + handling.message) { return nil }
            return "\(error)"
        }
    }

    func text(_ x: Double, _ type: ConfigType) -> String { type == .int ? String(Int64(x)) : String(x) }

    func testEveryIntervalAcceptsItsClosedBoundsAndRefusesBeyondThem() {
        var checked = 0
        for group in ConfigSchema.groups {
            for key in group.keys {
                guard case .interval(let i)? = key.rule else { continue }
                let step = key.type == .int ? 1.0 : max(1e-9, abs(i.lower ?? i.upper ?? 1) * 1e-9)
                if let lower = i.lower {
                    if i.lowerOpen {
                        XCTAssertNotNil(load(key.name, text(lower, key.type)), "\(key.name) accepted its open lower bound \(lower)")
                        if key.type == .float { XCTAssertNil(load(key.name, text(lower + step, key.type)), key.name) }
                    } else {
                        XCTAssertNil(load(key.name, text(lower, key.type)), "\(key.name) refused its lower bound \(lower)")
                    }
                    let below = text(lower - (key.type == .int ? 1 : max(step, 1e-3)), key.type)
                    let message = load(key.name, below)
                    let shown = Double(below).map { $0 == $0.rounded() ? String(Int64($0)) : below } ?? below
                    XCTAssertEqual(message, "override '\(key.name)=\(below)' \(key.name): \(shown) is out of range (expected \(i.description))",
                                   "\(key.name) below its range")
                }
                if let upper = i.upper, i.upperOpen {
                    XCTAssertNotNil(load(key.name, text(upper, key.type)), "\(key.name) accepted its open upper bound \(upper)")
                    XCTAssertNil(load(key.name, text(upper - 1e-3, key.type)), key.name)
                } else if let upper = i.upper {
                    XCTAssertNil(load(key.name, text(upper, key.type)), "\(key.name) refused its upper bound \(upper)")
                    let above = text(upper + (key.type == .int ? 1 : max(1, upper * 1e-6)), key.type)
                    XCTAssertNotNil(load(key.name, above), "\(key.name) accepted \(above), above its range")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 60)
    }

    func testEverySetAcceptsItsWordsAndNothingElse() {
        for group in ConfigSchema.groups {
            for key in group.keys {
                guard case .oneOf(let words)? = key.rule else { continue }
                for word in words { XCTAssertNil(load(key.name, word), "\(key.name) refused '\(word)'") }
                XCTAssertEqual(load(key.name, "bogus"), "override '\(key.name)=bogus' \(key.name): 'bogus' is not allowed (expected one of \(words.joined(separator: ", ")))")
            }
        }
    }

    func testNumbersTooLargeForTheirTypeAreOutOfRange() {
        XCTAssertEqual(load("lora_rank", "99999999999999999999"),
                       "override 'lora_rank=99999999999999999999' lora_rank: 99999999999999999999 is out of range (expected in [1, 65536])")
        XCTAssertEqual(load("learning_rate", "1e400"), "override 'learning_rate=1e400' learning_rate: 1e400 is out of range (expected > 0)")
        XCTAssertEqual(load("lora_rank", "eight"), "override 'lora_rank=eight': 'lora_rank' expects an integer, got 'eight'")
    }

    func testCrossKeyRulesNameTheKeyAtFault() throws {
        XCTAssertEqual(load("num_train_epochs", "0"), nil, "max_steps > 0 makes 0 epochs fine")
        do {
            _ = try RunConfig.load(file: nil, overrides: ["num_train_epochs=0"])
            XCTFail("0 epochs without max_steps")
        } catch {
            XCTAssertEqual("\(error)", "override 'num_train_epochs=0' num_train_epochs: 0 is out of range (expected > 0 when max_steps is not set)")
        }
        let notes = try RunConfig.load(file: nil, overrides: ["max_steps=-1", "temperature=0", "save_steps=0.25"]).notes
        XCTAssertEqual(notes, ["max_steps: -1 ≤ 0 means num_train_epochs (3) sets the length, as in transformers",
                               "save_steps: 0.25 < 1 is a fraction of the total steps (rounded up), as in transformers",
                               "temperature: 0 means greedy decoding (do_sample: false)"])
    }

    /// YAML aliases of aliases expand exponentially; the reader stops at its budget at once.
    func testABillionLaughsIsRefusedQuickly() throws {
        var lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...8 { lines.append("l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 9).joined(separator: ", ") + "]") }
        let started = Date()
        XCTAssertThrowsError(try YAMLReader.read(text: lines.joined(separator: "\n"), source: "laughs.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("laughs.yaml:"), "\(error)")
            XCTAssertTrue("\(error)".contains("more than 100000 values once aliases are expanded"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }
}
