import FactoryJinja
import FactoryJSON
import Foundation
import XCTest

/// The Jinja subset renders the model's own chat template exactly as transformers does.
final class JinjaTests: XCTestCase {
    func testSmolLM2TemplateRendersEveryGoldenConversation() throws {
        let source = try String(contentsOfFile: Fixtures.root + "/smollm2/tokenizer/chat_template.jinja", encoding: .utf8)
        let template = try JinjaTemplate(source)
        let lines = try String(contentsOfFile: Fixtures.root + "/smollm2/chat_template_cases.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 20)
        for line in lines {
            let c = try JSON.parse(String(line))
            let messages = JinjaValue.list((c["messages"]?.arrayValue ?? []).map { m in
                .dict([("role", .string(m["role"]?.stringValue ?? "")), ("content", .string(m["content"]?.stringValue ?? ""))])
            })
            let rendered = try template.render(["messages": messages, "add_generation_prompt": .bool(c["add_generation_prompt"]?.boolValue ?? false),
                                                "bos_token": .string("<|im_start|>"), "eos_token": .string("<|im_end|>")])
            XCTAssertEqual(rendered, c["rendered"]?.stringValue, c["id"]?.stringValue ?? "?")
        }
    }

    func testWhitespaceControlLoopsConditionsAndFilters() throws {
        let t = try JinjaTemplate("""
            {%- set ns = namespace(count=0) -%}
            {% for m in messages if m.role != 'skip' %}
              {{- loop.index }}:{{ m['content'] | trim | upper }}{% if not loop.last %},{% endif %}
              {%- set ns.count = ns.count + 1 %}
            {% endfor %}
            {{- ' n=' ~ ns.count -}}
            {{ ' ' + (messages | length | string) }}{{ ' yes' if messages[0].content.startswith(' a') else ' no' }}
            """)
        let messages = JinjaValue.list([
            .dict([("role", .string("user")), ("content", .string(" a "))]),
            .dict([("role", .string("skip")), ("content", .string("x"))]),
            .dict([("role", .string("assistant")), ("content", .string("b"))]),
        ])
        XCTAssertEqual(try t.render(["messages": messages]), "1:A,2:B n=2 3 yes")
    }

    func testToJSONWritesPythonsSeparators() throws {
        let t = try JinjaTemplate("{{ x | tojson }}")
        let x = JinjaValue.dict([("a", .list([.int(1), .string("b, c")])), ("d", .dict([("e", .none)]))])
        XCTAssertEqual(try t.render(["x": x]), #"{"a": [1, "b, c"], "d": {"e": null}}"#)  // json.dumps(x, ensure_ascii=False)
    }

    func testErrorsAreMessagesNotCrashes() {
        XCTAssertThrowsError(try JinjaTemplate("{% for x in y %}no end"))
        XCTAssertThrowsError(try JinjaTemplate("{{ 'unterminated }}"))
        XCTAssertThrowsError(try JinjaTemplate("{{ raise_exception('bad role') }}").render([:])) { error in
            XCTAssertEqual("\(error)", "bad role")
        }
    }
}
