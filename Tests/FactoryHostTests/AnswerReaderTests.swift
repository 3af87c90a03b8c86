import FactoryHost
import XCTest

/// AnswerReader: an answer read into reasoning, content and tool calls by each in-tree tool format, the
/// same whatever pieces it streams in, with the name told before the arguments stream.
final class AnswerReaderTests: XCTestCase {
    let qwen = AnswerFormat(toolCalls: .init(style: .tagged, open: "<tool_call>", close: "</tool_call>", prefix: "", nameKey: "name", argumentsKey: "arguments"),
                            reasoning: ("<think>", "</think>"))
    let llama3 = AnswerFormat(toolCalls: .init(style: .json, open: "", close: "", prefix: "", nameKey: "name", argumentsKey: "parameters"), reasoning: nil)
    let mistral = AnswerFormat(toolCalls: .init(style: .json, open: "", close: "", prefix: "[TOOL_CALLS]", nameKey: "name", argumentsKey: "arguments"), reasoning: nil)
    let action = AnswerFormat(toolCalls: .init(style: .action, open: "", close: "", prefix: "", nameKey: "name", argumentsKey: "arguments"), reasoning: nil)

    struct Read: Equatable {
        var reasoning = "", content = ""
        var calls: [AnswerReader.Call] = []
        var namedBeforeArguments = true
    }

    /// The answer fed in pieces of `size` characters (0: whole), and what its events say.
    func read(_ text: String, _ format: AnswerFormat, calls: Bool = true, size: Int = 0) -> Read {
        var reader = AnswerReader(format: format, readsCalls: calls)
        var events: [AnswerReader.Event] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            let n = size == 0 ? rest.count : min(size, rest.count)
            events += reader.feed(String(rest.prefix(n)))
            rest = rest.dropFirst(n)
        }
        events += reader.finish()
        var r = Read()
        for e in events {
            switch e {
            case .reasoning(let t): r.reasoning += t
            case .content(let t): r.content += t
            case .callStart(let i, let name):
                XCTAssertEqual(i, r.calls.count, "calls start in order")
                r.calls.append(.init(name: name, arguments: ""))
            case .callArguments(let i, let t):
                if i >= r.calls.count { r.namedBeforeArguments = false; continue }
                r.calls[i].arguments += t
            }
        }
        XCTAssertEqual(r.calls, reader.calls, "events and the reader's calls agree")
        XCTAssertEqual(r.content, reader.content)
        XCTAssertEqual(r.reasoning, reader.reasoning)
        return r
    }

    /// Every piece size gives what the whole text gives.
    func check(_ text: String, _ format: AnswerFormat, calls: Bool = true, reasoning: String = "", content: String,
               expected: [AnswerReader.Call], file: StaticString = #filePath, line: UInt = #line) {
        for size in [0, 1, 2, 3, 5, 8] {
            let r = read(text, format, calls: calls, size: size)
            XCTAssertEqual(r, Read(reasoning: reasoning, content: content, calls: expected), "pieces of \(size)", file: file, line: line)
        }
    }

    func testQwenCallsAfterContent() {
        check("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n</tool_call>",
              qwen, content: "Let me look.", expected: [.init(name: "get_weather", arguments: "{\"city\": \"Paris\", \"days\": [1, 2]}")])
        check("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"s\": \"}\\\"{\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>",
              qwen, content: "", expected: [.init(name: "a", arguments: "{\"s\": \"}\\\"{\"}"), .init(name: "b", arguments: "{}")])
    }

    func testQwen3ReasoningThenAnswerOrCall() {
        check("<think>\nThe user greets me.\n</think>\n\nHello!", qwen, reasoning: "The user greets me.", content: "Hello!", expected: [])
        check("<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"c\": 1}}\n</tool_call>", qwen,
              reasoning: "I need the weather.", content: "", expected: [.init(name: "w", arguments: "{\"c\": 1}")])
    }

    func testArgumentsBeforeTheNameAreReadWhole() {
        check("<tool_call>{\"arguments\": {\"a\": 1}, \"name\": \"f\"}</tool_call>", qwen, content: "", expected: [.init(name: "f", arguments: "{\"a\": 1}")])
    }

    func testWhatIsNotACallStaysContent() {
        check("Use <tool_call> tags? No.", qwen, content: "Use <tool_call> tags? No.", expected: [])
        check("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>", qwen, calls: false,
              content: "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>", expected: [])
    }

    func testLlama3AndMistralJSONAnswers() {
        check("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", llama3, content: "",
              expected: [.init(name: "get_weather", arguments: "{\"city\": \"Paris\"}")])
        check("{not a call}", llama3, content: "{not a call}", expected: [])
        check("Paris is sunny.", llama3, content: "Paris is sunny.", expected: [])
        check("[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": {}}]", mistral, content: "",
              expected: [.init(name: "a", arguments: "{\"x\": 1}"), .init(name: "b", arguments: "{}")])
    }

    func testLLaMAFactoryDefaultActionFormat() {
        check("I will check.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}", action, content: "I will check.",
              expected: [.init(name: "get_weather", arguments: "{\"city\": \"Paris\"}")])
        check("Action: a\nAction Input: {\"x\": 1}\nAction: b\nAction Input: {\"y\": [2]}", action, content: "",
              expected: [.init(name: "a", arguments: "{\"x\": 1}"), .init(name: "b", arguments: "{\"y\": [2]}")])
    }

    func testWithoutToolsTheAnswerIsContentAsWritten() {
        check("  Hello,\n world!\n", action, calls: false, content: "  Hello,\n world!\n", expected: [])
        check("\nHi <think> there", qwen, calls: false, content: "\nHi <think> there", expected: [])
    }

    func testTheNameIsToldBeforeTheArgumentsStream() {
        let text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        var reader = AnswerReader(format: qwen, readsCalls: true)
        var argumentEvents = 0, sawName = false
        for c in text {
            for e in reader.feed(String(c)) {
                if case .callStart = e { sawName = true }
                if case .callArguments = e { XCTAssertTrue(sawName); argumentEvents += 1 }
            }
        }
        _ = reader.finish()
        XCTAssertGreaterThan(argumentEvents, 5, "the arguments stream piece by piece")
    }

    func testDeclarationsAreChecked() throws {
        XCTAssertEqual(try AnswerFormat(json: #"{"tool_calls": {"style": "tagged", "open": "<tool_call>", "close": "</tool_call>", "name": "name", "arguments": "arguments"}, "reasoning": {"open": "<think>", "close": "</think>"}}"#, template: "qwen3"), qwen)
        for (bad, word) in [(#"{"tools": {}}"#, "unknown key 'tools'"), (#"{"tool_calls": {"style": "xml", "name": "n", "arguments": "a"}}"#, "style"),
                            (#"{"tool_calls": {"style": "tagged", "name": "n", "arguments": "a"}}"#, "'open' and 'close'"),
                            (#"{"reasoning": {"open": "<think>"}}"#, "'reasoning'")] {
            XCTAssertThrowsError(try AnswerFormat(json: bad, template: "t")) { XCTAssertTrue("\($0)".contains(word), "\($0)") }
        }
    }
}
