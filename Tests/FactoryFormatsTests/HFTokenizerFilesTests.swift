import FactoryFormats
import FactoryJSON
import FactoryTokenizers
import Foundation
import XCTest

/// The Hugging Face tokenizer files written for a GGUF base (what a full fine-tune of a GGUF model
/// saves): read back through tokenizer.json they reproduce every transformers case, like the GGUF.
extension TokenizerTests {
    func written(_ gguf: String) throws -> (Tokenizer, [String: JSON]) {
        let files = try HFTokenizerFiles.fromGGUF(try GGUFMetadata.read(file: gguf), file: gguf)
        let byName = Dictionary(uniqueKeysWithValues: files)
        // through text, as a saved file would be read
        let text = try XCTUnwrap(byName["tokenizer.json"]).serialized()
        return (try Tokenizer.load(tokenizerJSON: try JSON.parse(text), source: "written tokenizer.json"), byName)
    }

    func testTokenizerFilesWrittenFromTheGGUFReproduceEveryCase() throws {
        let (tokenizer, files) = try written(try Fixtures.smollm2)
        try check(tokenizer, source: "tokenizer.json written from the GGUF")
        let config = try XCTUnwrap(files["tokenizer_config.json"])
        XCTAssertEqual(config["bos_token"]?.stringValue, "<|im_start|>")
        XCTAssertEqual(config["eos_token"]?.stringValue, "<|im_end|>")
        XCTAssertEqual(config["pad_token"]?.stringValue, "<|im_end|>")
        XCTAssertEqual(config["unk_token"]?.stringValue, "<|endoftext|>")
        XCTAssertTrue(config["chat_template"]?.stringValue?.contains("<|im_start|>") ?? false)
        XCTAssertEqual(files["special_tokens_map.json"]?["eos_token"]?.stringValue, "<|im_end|>")
    }
}

extension SentencePieceTokenizerTests {
    func testTokenizerFilesWrittenFromASentencePieceGGUF() throws {
        let path = Self.folder + "/spm.gguf"
        let files = Dictionary(uniqueKeysWithValues: try HFTokenizerFiles.fromGGUF(try GGUFMetadata.read(file: path), file: path))
        let tokenizer = try Tokenizer.load(tokenizerJSON: try JSON.parse(try XCTUnwrap(files["tokenizer.json"]).serialized()), source: "written")
        try checkGGUFCases(tokenizer, label: "written tokenizer.json")
    }
}
