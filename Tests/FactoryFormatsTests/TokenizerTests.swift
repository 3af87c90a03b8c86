import FactoryFormats
import FactoryJSON
@testable import FactoryTokenizers
import Foundation
import XCTest

/// Byte-level BPE against transformers: every case of the fixtures, ids equal, not close.
final class TokenizerTests: XCTestCase {
    /// JSON lines parsed with json-c: Foundation's parser drops a leading U+FEFF inside strings,
    /// which one tokenizer case is about.
    func lines(_ relative: String) throws -> [[String: Any]] {
        try String(contentsOfFile: Fixtures.root + "/" + relative, encoding: .utf8).split(separator: "\n").map {
            try JSON.parse(String($0)).plain as! [String: Any]
        }
    }

    func check(_ tokenizer: Tokenizer, source: String) throws {
        let cases = try lines("smollm2/tokenizer_cases.jsonl")
        XCTAssertEqual(cases.count, 159)
        var failures = 0
        for c in cases {
            let text = c["text"] as! String, id = c["id"]!
            let ids = try tokenizer.encode(text)
            if ids != c["ids"] as! [Int] { failures += 1; XCTFail("\(source) case \(id) \(text.debugDescription): \(ids) vs \(c["ids"]!)"); continue }
            XCTAssertEqual(tokenizer.tokens(ids), c["tokens"] as? [String], "\(source) case \(id) tokens")
            XCTAssertEqual(try tokenizer.encode(text, splitSpecial: true), c["ids_split_special"] as? [Int], "\(source) case \(id) split special")
            XCTAssertEqual(tokenizer.decode(ids), c["decoded"] as? String, "\(source) case \(id) decode")
            XCTAssertEqual(tokenizer.decode(ids, skipSpecial: true), c["decoded_skip_special"] as? String, "\(source) case \(id) decode skip")
            if failures > 5 { break }
        }
    }

    func testTokenizerJSONReproducesEveryCase() throws {
        try check(try Tokenizer.load(tokenizerJSON: Fixtures.root + "/smollm2/tokenizer/tokenizer.json"), source: "tokenizer.json")
    }

    func testGGUFMetadataReproducesEveryCase() throws {
        let path = try Fixtures.smollm2
        let tokenizer = try Tokenizer.load(gguf: try GGUFMetadata.read(file: path), file: path)
        XCTAssertEqual(tokenizer.eosID, 2)
        try check(tokenizer, source: "gguf")
    }

    func testDecodeCasesIncludingCutUTF8() throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: Fixtures.root + "/smollm2/tokenizer/tokenizer.json")
        let cases = try lines("smollm2/tokenizer_decode_cases.jsonl")
        XCTAssertEqual(cases.count, 102)
        for c in cases {
            XCTAssertEqual(tokenizer.decode(c["ids"] as! [Int], skipSpecial: c["skip_special_tokens"] as! Bool), c["text"] as? String, "\(c["ids"]!)")
        }
    }

    func testMatchesTransformersWhereLlamaCppDiverges() throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: Fixtures.root + "/smollm2/tokenizer/tokenizer.json")
        for c in try lines("smollm2/tokenizer_pretok_divergence.jsonl") {
            XCTAssertEqual(try tokenizer.encode(c["text"] as! String), c["ids_transformers_gguf"] as? [Int], "\(c["text"]!)")
        }
    }

    func testTheTinyTokenizer() throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: Fixtures.root + "/tiny/tokenizer/tokenizer.json")
        let index = try Fixtures.json("tiny/index.json")
        let inputs = try XCTUnwrap(index["inputs"] as? [[String: Any]] ?? index["texts"] as? [[String: Any]])
        XCTAssertFalse(inputs.isEmpty)
        for input in inputs {
            let text = input["text"] as! String
            XCTAssertEqual(try tokenizer.encode(text), input["ids"] as? [Int], text)
        }
    }
}

extension JSON {
    /// As Foundation-style values (String, Int, Bool, arrays, dictionaries).
    var plain: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return Int(i)
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(\.plain)
        case .object(let o): return Dictionary(uniqueKeysWithValues: o.pairs.map { ($0.0, $0.1.plain) })
        }
    }
}

/// SentencePiece-style BPE with byte fallback (Llama 2's normalizer layout, and Metaspace
/// splitting as in Mistral/Gemma), against Hugging Face tokenizers (Fixtures/sentencepiece/generate.py).
final class SentencePieceTokenizerTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sentencepiece").path

    func check(_ layout: String) throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: Self.folder + "/\(layout).tokenizer.json")
        let lines = try String(contentsOfFile: Self.folder + "/\(layout).cases.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 16)
        for line in lines {
            let c = try JSON.parse(String(line))
            let text = c["text"]?.stringValue ?? ""
            let ids = try tokenizer.encode(text)
            XCTAssertEqual(ids, c["ids"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(layout) \(text.debugDescription)")
            XCTAssertEqual(tokenizer.tokens(ids), c["tokens"]?.arrayValue?.compactMap(\.stringValue), "\(layout) \(text.debugDescription) tokens")
            XCTAssertEqual(tokenizer.decode(ids), c["decoded"]?.stringValue, "\(layout) \(text.debugDescription) decode")
        }
    }

    func testLlama2LayoutWithByteFallback() throws { try check("llama2") }
    func testMetaspaceLayout() throws { try check("metaspace") }
}

extension SentencePieceTokenizerTests {
    /// A GGUF with tokenizer.ggml.model "llama" (tokens and scores, no merges), against what
    /// transformers builds from the same file.
    func testSentencePieceFromGGUFMetadata() throws {
        let path = Self.folder + "/spm.gguf"
        try checkGGUFCases(try Tokenizer.load(gguf: try GGUFMetadata.read(file: path), file: path), label: "gguf")
    }

    /// tokenizer(text) adds special tokens: a SentencePiece GGUF that states no add_bos_token gets BOS
    /// (transformers' default for it, as llama.cpp's), and tokenizer.json's TemplateProcessing, alone or
    /// in a Sequence, puts its tokens where its `single` template says.
    func testSpecialTokensAroundATextAsTransformersAddsThem() throws {
        let path = Self.folder + "/spm.gguf"
        let gguf = try Tokenizer.load(gguf: try GGUFMetadata.read(file: path), file: path)
        XCTAssertEqual(try gguf.encode("Hello world", addSpecialTokens: true), [1] + (try gguf.encode("Hello world")))
        XCTAssertEqual(try gguf.encode("Hello world", addSpecialTokens: false), try gguf.encode("Hello world"))
        var json = try XCTUnwrap(try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/llama2.tokenizer.json")))).objectValue)
        let template: JSON = ["type": "TemplateProcessing",
                              "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                                         ["SpecialToken": ["id": "</s>", "type_id": 0]]],
                              "special_tokens": ["<s>": ["id": "<s>", "ids": [1], "tokens": ["<s>"]], "</s>": ["id": "</s>", "ids": [2], "tokens": ["</s>"]]]]
        for processor in [template, ["type": "Sequence", "processors": [["type": "ByteLevel", "trim_offsets": false], template]] as JSON] {
            json["post_processor"] = processor
            let t = try Tokenizer.load(tokenizerJSON: .object(json), source: "test")
            XCTAssertEqual(try t.encode("Hello world", addSpecialTokens: true), [1] + (try t.encode("Hello world")) + [2])
        }
    }

    /// Gemma's tokenizer.json pre-tokenizer, Split(" ", merged_with_previous), cuts as HF tokenizers does
    /// (pre_tokenize_str gives ['a ', 'b ', ' ', 'c '] and [' ', 'x']).
    func testSplitMergedWithPrevious() throws {
        let split = try PreTokenization.parse(["type": "Split", "pattern": ["String": " "], "behavior": "MergedWithPrevious", "invert": false])
        XCTAssertEqual(split.words("a b  c ", atStart: true), ["a ", "b ", " ", "c "])
        XCTAssertEqual(split.words(" x", atStart: true), [" ", "x"])
        XCTAssertEqual(split.words("nospace", atStart: true), ["nospace"])
        XCTAssertThrowsError(try PreTokenization.parse(["type": "Split", "pattern": ["Regex": "\\s"], "behavior": "Removed"]))
    }

    /// The 16 cases transformers encoded from spm.gguf.
    func checkGGUFCases(_ tokenizer: Tokenizer, label: String) throws {
        let lines = try String(contentsOfFile: Self.folder + "/spm.gguf.cases.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 16)
        for line in lines {
            let c = try JSON.parse(String(line))
            let text = c["text"]?.stringValue ?? ""
            let ids = try tokenizer.encode(text)
            XCTAssertEqual(ids, c["ids"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(label) \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(ids), c["decoded"]?.stringValue, "\(label) \(text.debugDescription) decode")
        }
    }
}

/// Llama 3's and Qwen2's Split pre-tokenizers over the SmolLM2 vocabulary, against Hugging Face
/// tokenizers (Fixtures/split/generate.py) on all 159 tokenizer texts and a few more.
final class SplitPreTokenizerTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/split").path

    func check(_ name: String) throws {
        var json = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.root + "/smollm2/tokenizer/tokenizer.json"))))
        let pre = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/\(name).pre_tokenizer.json"))))
        guard var object = json.objectValue else { return XCTFail("tokenizer.json is not an object") }
        object["pre_tokenizer"] = pre
        json = .object(object)
        let tokenizer = try Tokenizer.load(tokenizerJSON: json, source: name)
        let lines = try String(contentsOfFile: Self.folder + "/\(name).cases.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 166)
        var failures = 0
        for line in lines where failures < 8 {
            let c = try JSON.parse(String(line))
            let text = c["text"]?.stringValue ?? ""
            let ids = try tokenizer.encode(text)
            if ids != c["ids"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }) {
                failures += 1
                XCTFail("\(name) \(text.debugDescription): \(ids) vs \(c["ids"]?.serialized() ?? "")")
            }
        }
    }

    func testLlama3Split() throws { try check("llama3") }
    func testQwen2Split() throws { try check("qwen2") }
}
