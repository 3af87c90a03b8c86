import CFactoryABI
import FactoryHost
import FactoryJSON
import FactoryJinja
import Foundation
import XCTest

/// Every in-tree chat-template plugin against golden renderings (Fixtures/templates/cases.json,
/// made by generate.py): the models' published Jinja templates rendered with jinja2, or
/// LLaMA-Factory's own code for the templates it defines. The published templates also go
/// through Factory's Jinja evaluator, which must agree with jinja2.
final class TemplatePluginTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/templates").path

    struct Case {
        let template: String, name: String, reference: String
        let messages: JSON, options: JSON, text: String?
        let jinjaContext: [String: JinjaValue]
    }

    func cases() throws -> [Case] {
        let root = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/cases.json"))))
        return (root.arrayValue ?? []).map { c in
            let messages = c["messages"] ?? .array([])
            var options: [(String, JSON)] = [
                ("add_generation_prompt", c["add_generation_prompt"] ?? .bool(false)),
                ("bos_token", c["bos"] ?? .string("")), ("eos_token", c["eos"] ?? .string("")),
            ]
            var context: [String: JinjaValue] = [
                "messages": .list((messages.arrayValue ?? []).map { m in
                    .dict([("role", .string(m["role"]?.stringValue ?? "")), ("content", .string(m["content"]?.stringValue ?? ""))])
                }),
                "add_generation_prompt": .bool(c["add_generation_prompt"]?.boolValue ?? false),
                "bos_token": .string(c["bos"]?.stringValue ?? ""), "eos_token": .string(c["eos"]?.stringValue ?? ""),
            ]
            if let thinking = c["enable_thinking"]?.boolValue {
                options.append(("enable_thinking", .bool(thinking)))
                context["enable_thinking"] = .bool(thinking)
            }
            return Case(template: c["template"]?.stringValue ?? "", name: c["name"]?.stringValue ?? "",
                        reference: c["reference"]?.stringValue ?? "", messages: messages, options: .object(JSONObject(options)),
                        text: c["text"]?.stringValue, jinjaContext: context)
        }
    }

    func testEveryTemplatePluginRendersItsGoldenConversations() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let all = try cases()
        XCTAssertEqual(Set(all.map(\.template)).count, 13)
        var checked = 0
        for c in all {
            guard let expected = c.text else { continue }  // the model's template refuses this conversation
            let plugin = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(c.template))
            let text = try plugin.render(messagesJSON: c.messages.serialized(), optionsJSON: c.options.serialized()).map(\.text).joined()
            XCTAssertEqual(text, expected, "\(c.template): \(c.name)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 130)
    }

    func testFactorysJinjaAgreesWithJinja2OnThePublishedTemplates() throws {
        var sources: [String: JinjaTemplate] = [:]
        for c in try cases() where c.reference.hasPrefix("jinja:") {
            let file = String(c.reference.dropFirst("jinja:".count))
            if sources[file] == nil {
                sources[file] = try JinjaTemplate(String(contentsOfFile: Self.fixtures + "/" + file, encoding: .utf8))
            }
            if let expected = c.text {
                XCTAssertEqual(try sources[file]!.render(c.jinjaContext), expected, "\(file): \(c.name)")
            } else {
                XCTAssertThrowsError(try sources[file]!.render(c.jinjaContext), "\(file): \(c.name) should raise")
            }
        }
        XCTAssertEqual(sources.count, 8)
    }

    func testTrainableSegmentsAreTheAnswersOnly() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let messages = #"[{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]"#
        let expectations: [(String, String)] = [
            ("llama3", "A<|eot_id|>"), ("llama2", " A </s>"), ("qwen", "A<|im_end|>\n"), ("qwen3", "<think>\n\n</think>\n\nA<|im_end|>\n"),
            ("mistral", " A</s>"), ("gemma", "A<end_of_turn>\n"), ("phi4", "A<|im_end|>"), ("zephyr", "A</s>\n"),
            ("vicuna", "A</s>"), ("default", "A</s>\n"), ("empty", "A"),
        ]
        for (name, learned) in expectations {
            let plugin = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(name))
            let segments = try plugin.render(messagesJSON: messages, optionsJSON: #"{"eos_token": "</s>"}"#.replacingAll("</s>", with: name == "qwen" || name == "qwen3" || name == "phi4" ? "<|im_end|>" : "</s>"))
            XCTAssertEqual(segments.filter(\.trainable).map(\.text).joined(), learned, name)
        }
    }
}

/// Tool calling (Fixtures/templates/tool_cases.json, made by generate_tools.py): the Qwen templates render
/// tools and calls exactly as the models' own templates do with `tools=`; chatml, smollm2, llama3 and mistral,
/// whose models publish no tool format, as LLaMA-Factory renders them (mistral: LF's format on the v0.2 layout).
/// Calls are learned, results are not; a template without a tool format refuses tools and calls in one line.
extension TemplatePluginTests {
    func testToolsAndCallsRenderAsTheModelsTemplatesOrLLaMAFactoryDo() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let root = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/tool_cases.json"))))
        let cases = root.arrayValue ?? []
        XCTAssertEqual(cases.count, 26)
        XCTAssertEqual(Set(cases.compactMap { $0["template"]?.stringValue }), ["qwen", "qwen3", "qwen3_nothink", "chatml", "smollm2", "llama3", "mistral", "default", "empty", "vicuna"])
        for c in cases {
            let name = c["template"]?.stringValue ?? ""
            var options: [(String, JSON)] = [("add_generation_prompt", c["add_generation_prompt"] ?? false), ("bos_token", c["bos"] ?? ""),
                                             ("eos_token", c["eos"] ?? "<|im_end|>"), ("tools", c["tools"] ?? "")]
            if let thinking = c["enable_thinking"]?.boolValue { options.append(("enable_thinking", .bool(thinking))) }
            let plugin = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(name))
            let segments = try plugin.render(messagesJSON: (c["messages"] ?? []).serialized(), optionsJSON: JSON.object(JSONObject(options)).serialized())
            XCTAssertEqual(segments.map(\.text).joined(), c["text"]?.stringValue, "\(name): \(c["name"]?.stringValue ?? "")")
            // LLaMA-Factory trains the calls and the answers, not the tool results
            let functionCall = Int32(FACTORY_ROLE_FUNCTION_CALL.rawValue), observation = Int32(FACTORY_ROLE_OBSERVATION.rawValue)
            for s in segments where s.role == observation { XCTAssertFalse(s.trainable, "\(name): a result is not learned") }
            let calls = segments.filter { $0.role == functionCall }
            XCTAssertTrue(calls.contains { $0.trainable } || c["add_generation_prompt"]?.boolValue == true, "\(name): a call is learned")
        }
    }

    func testATemplateWithoutAToolFormatRefusesToolsAndCalls() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        for name in ["gemma", "alpaca"] {  // a Swift template on the kit, and the C one
            let plugin = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(name))
            let tools = #"{"tools": "[{\"name\": \"f\", \"parameters\": {}}]"}"#
            XCTAssertThrowsError(try plugin.render(messagesJSON: #"[{"role": "user", "content": "Q"}]"#, optionsJSON: tools)) { error in
                XCTAssertTrue("\(error)".contains("\(name): this template has no tool format yet; tools are refused rather than left out"), "\(error)")
            }
            let call = #"[{"role": "user", "content": "Q"}, {"role": "function_call", "content": "{\"name\": \"f\", \"arguments\": {}}"}]"#
            XCTAssertThrowsError(try plugin.render(messagesJSON: call, optionsJSON: "{}")) { error in
                XCTAssertTrue("\(error)".contains("message 1 is a function_call and this template has no tool format yet"), "\(error)")
            }
            XCTAssertNoThrow(try plugin.render(messagesJSON: #"[{"role": "user", "content": "Q"}]"#, optionsJSON: #"{"tools": "[]"}"#), name)
        }
        // a malformed call names its message
        let qwen = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup("qwen"))
        let bad = #"[{"role": "user", "content": "Q"}, {"role": "function_call", "content": "get_weather(Paris)"}]"#
        XCTAssertThrowsError(try qwen.render(messagesJSON: bad, optionsJSON: "{}")) { error in
            XCTAssertTrue("\(error)".contains("message 1: a function_call must be JSON"), "\(error)")
        }
    }
}
