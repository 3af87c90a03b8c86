import FactoryConfig
import FactoryData
import FactoryHost
import FactoryJSON
import FactoryTokenizers
import Foundation
import XCTest

/// Supervised preprocessing against the LoRA trajectory fixture (LLaMA-Factory's labels for the
/// smollm2 template), and the data readers and converters against LLaMA-Factory's own files.
final class SupervisedEncoderTests: XCTestCase {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared").path

    func smollm2() throws -> (ChatTemplateInstance, Tokenizer) {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup("smollm2"))
        let tokenizer = try Tokenizer.load(tokenizerJSON: Self.shared + "/fixtures/smollm2/tokenizer/tokenizer.json")
        return (template, tokenizer)
    }

    func testLabelsMatchTheLoRATrajectoryExamples() throws {
        let (template, tokenizer) = try smollm2()
        let encoder = SupervisedEncoder(template: template, tokenizer: tokenizer, options: SupervisedOptions())
        let data = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.shared + "/fixtures/smollm2/lora_sft/trajectory.json"))))
        let examples = data["examples"]?.arrayValue ?? []
        XCTAssertEqual(examples.count, 4)
        for (i, e) in examples.enumerated() {
            var system: String?
            var messages: [Message] = []
            for m in e["messages"]?.arrayValue ?? [] {
                let role = m["role"]?.stringValue ?? "", content = m["content"]?.stringValue ?? ""
                if role == "system" { system = content } else { messages.append(Message(role: role, content: content)) }
            }
            let encoded = try encoder.encode(Conversation(system: system, messages: messages, origin: "example \(i)"))
            XCTAssertEqual(encoded.inputIDs, e["input_ids"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "example \(i) ids")
            XCTAssertEqual(encoded.labels, e["labels"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "example \(i) labels")
        }
    }

    func testInferSeqlenFollowsLLaMAFactory() {
        XCTAssertEqual(SupervisedEncoder.inferSeqlen(source: 100, target: 10, cutoff: 50).0, 40)     // short target: keep it, cut the source
        XCTAssertEqual(SupervisedEncoder.inferSeqlen(source: 10, target: 100, cutoff: 50).1, 40)     // short source: keep it, cut the target
        XCTAssertTrue(SupervisedEncoder.inferSeqlen(source: 60, target: 40, cutoff: 50) == (30, 20)) // both long: proportional
        XCTAssertTrue(SupervisedEncoder.inferSeqlen(source: 5, target: 5, cutoff: 50) == (5, 5))
    }

    func testCutoffAndMaskHistory() throws {
        let (template, tokenizer) = try smollm2()
        let conversation = Conversation(system: "S", messages: [Message(role: "user", content: "first question"), Message(role: "assistant", content: "first answer"),
                                                                Message(role: "user", content: "second"), Message(role: "assistant", content: "second answer")],
                                        origin: "t")
        var options = SupervisedOptions()
        options.cutoffLen = 12
        let cut = try SupervisedEncoder(template: template, tokenizer: tokenizer, options: options).encode(conversation)
        XCTAssertLessThanOrEqual(cut.inputIDs.count, 12)
        XCTAssertEqual(cut.inputIDs.count, cut.labels.count)
        options.cutoffLen = 2048
        options.maskHistory = true
        let masked = try SupervisedEncoder(template: template, tokenizer: tokenizer, options: options).encode(conversation)
        let learned = tokenizer.decode(zip(masked.inputIDs, masked.labels).filter { $0.1 != -100 }.map(\.0))
        XCTAssertEqual(learned, "second answer<|im_end|>\n", "mask_history learns the last answer only")
    }

    func testLLaMAFactorysDatasetInfoAndAlpacaDemoLoadUnchanged() throws {
        let info = try DatasetInfo(directory: Self.shared + "/data")
        let a = try info.attributes("alpaca_en_demo")
        let rows = try DatasetReader.read(Self.shared + "/data/" + a.fileName)
        XCTAssertEqual(rows.count, 999)  // the file holds 999 rows
        let conversations = try rows.map { try DatasetConverter.convert($0, a) }
        XCTAssertEqual(conversations[0].messages.count, 2)
        XCTAssertEqual(conversations[0].messages[1].role, "assistant")
        for name in info.names { _ = try? info.attributes(name) }  // every entry parses or gives a message
    }

    func testBadRowsNameFileRowAndField() throws {
        let dir = NSTemporaryDirectory() + "data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #"[{"instruction": "ok", "output": "fine"}, {"instruction": "no output"}, {"instruction": 5, "output": "x"}]"#
            .write(toFile: dir + "/a.json", atomically: true, encoding: .utf8)
        try #"{"a": {"file_name": "a.json"}, "s": {"file_name": "s.jsonl", "formatting": "sharegpt"}}"#
            .write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        try "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"hi\"}]}\n".write(toFile: dir + "/s.jsonl", atomically: true, encoding: .utf8)
        let info = try DatasetInfo(directory: dir)
        let rows = try DatasetReader.read(dir + "/a.json")
        XCTAssertNoThrow(try DatasetConverter.convert(rows[0], try info.attributes("a")))
        XCTAssertThrowsError(try DatasetConverter.convert(rows[1], try info.attributes("a"))) { XCTAssertEqual("\($0)", "\(dir)/a.json:2 output: missing") }
        XCTAssertThrowsError(try DatasetConverter.convert(rows[2], try info.attributes("a"))) {
            XCTAssertEqual("\($0)", "\(dir)/a.json:3 instruction: must be a string, got an integer")
        }
        let s = try DatasetReader.read(dir + "/s.jsonl")
        XCTAssertThrowsError(try DatasetConverter.convert(s[0], try info.attributes("s"))) {
            XCTAssertEqual("\($0)", "\(dir)/s.jsonl:1 conversations[0]: role 'gpt' out of order (turns alternate user/observation and assistant/function_call)")
        }
    }
}

extension SupervisedEncoderTests {
    /// tokenized_path: written on the first run, reused while inputs are unchanged, rebuilt when a dataset file changes.
    func testTheTokenizedCacheIsReusedAndInvalidated() throws {
        let (template, tokenizer) = try smollm2()
        let dir = NSTemporaryDirectory() + "cache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #"[{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"}]"#.write(toFile: dir + "/d.json", atomically: true, encoding: .utf8)
        try #"{"d": {"file_name": "d.json"}}"#.write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        let config = try RunConfig.load(file: nil, overrides: ["dataset=d", "dataset_dir=\(dir)", "tokenized_path=\(dir)/tok"])
        let first = try DatasetLoader.load(config, template: template, tokenizer: tokenizer, tokenizerIdentity: "smollm2")
        XCTAssertFalse(first.fromCache)
        let second = try DatasetLoader.load(config, template: template, tokenizer: tokenizer, tokenizerIdentity: "smollm2")
        XCTAssertTrue(second.fromCache)
        XCTAssertEqual(second.train, first.train)
        try #"[{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "changed"}]"#.write(toFile: dir + "/d.json", atomically: true, encoding: .utf8)
        let third = try DatasetLoader.load(config, template: template, tokenizer: tokenizer, tokenizerIdentity: "smollm2")
        XCTAssertFalse(third.fromCache, "a changed dataset file rebuilds the cache")
        XCTAssertNotEqual(third.train, first.train)
        let other = try RunConfig.load(file: nil, overrides: ["dataset=d", "dataset_dir=\(dir)", "tokenized_path=\(dir)/tok", "cutoff_len=8"])
        XCTAssertFalse(try DatasetLoader.load(other, template: template, tokenizer: tokenizer, tokenizerIdentity: "smollm2").fromCache)
    }
}

extension SupervisedEncoderTests {
    func testPairwiseRowsShareThePromptAndLearnOnlyTheAnswers() throws {
        let (template, tokenizer) = try smollm2()
        let encoder = SupervisedEncoder(template: template, tokenizer: tokenizer, options: SupervisedOptions())
        var c = Conversation(system: "S", messages: [Message(role: "user", content: "2+2?")], origin: "p")
        c.chosen = Message(role: "assistant", content: "4")
        c.rejected = Message(role: "assistant", content: "five")
        let p = try encoder.encodePairwise(c)
        let promptLength = p.chosen.labels.prefix { $0 == -100 }.count
        XCTAssertEqual(Array(p.chosen.inputIDs.prefix(promptLength)), Array(p.rejected.inputIDs.prefix(promptLength)))
        XCTAssertEqual(tokenizer.decode(p.chosen.labels.filter { $0 != -100 }), "4<|im_end|>\n")
        XCTAssertEqual(tokenizer.decode(p.rejected.labels.filter { $0 != -100 }), "five<|im_end|>\n")
        XCTAssertThrowsError(try encoder.encodePairwise(Conversation(messages: [Message(role: "user", content: "x")], origin: "q.json:3"))) {
            XCTAssertEqual("\($0)", "q.json:3: a pairwise row needs both a chosen and a rejected answer")
        }
    }
}
