// The metadata of a GGUF written from a Hugging Face directory, as llama.cpp's convert_hf_to_gguf.py writes
// it: general.* (architecture, name, file type), the model family's `<arch>.*` keys (describe key
// gguf_metadata, which read back give the same model), the tokenizer as tokenizer.ggml.* (GGUFTokenizerWriter,
// checked by reading it back) and the chat template.
import FactoryFormats
import FactoryJSON
import FactoryPipeline
import FactoryTokenizers
import Foundation

enum HuggingFaceGGUFMetadata {
    static func entries(_ model: LoadedModel, layout: GGUFLayout, fileType: UInt64, quantized: Bool, chatTemplate: String?) throws -> [GGUFWriter.Entry] {
        let family = model.family.component.name, directory = model.location.path
        guard let architecture = layout.architecture else {
            throw ExportError("export_format gguf: the \(family) model family does not name its llama.cpp architecture (gguf_architecture)")
        }
        var entries = [
            GGUFWriter.Entry("general.architecture", .string, .string(architecture)),
            GGUFWriter.Entry("general.type", .string, .string("model")),
            GGUFWriter.Entry("general.name", .string, .string(URL(fileURLWithPath: directory).lastPathComponent)),
            GGUFWriter.Entry("general.file_type", .uint32, .uint(fileType)),
        ]
        if quantized { entries.append(GGUFWriter.Entry("general.quantization_version", .uint32, .uint(2))) }
        switch model.description["gguf_metadata"] {
        case .string(let why)?: throw ExportError("export_format gguf: \(directory): \(why)")
        case .array(let list)?:
            for item in list {
                guard let key = item["key"]?.stringValue, let type = item["type"]?.stringValue, let value = item["value"] else { continue }
                switch type {
                case "uint32": entries.append(GGUFWriter.Entry(key, .uint32, .uint(UInt64(value.intValue ?? 0))))
                case "int32": entries.append(GGUFWriter.Entry(key, .int32, .int(value.intValue ?? 0)))
                case "float32": entries.append(GGUFWriter.Entry(key, .float32, .float(value.doubleValue ?? 0)))
                case "bool": entries.append(GGUFWriter.Entry(key, .bool, .bool(value.boolValue ?? false)))
                default: entries.append(GGUFWriter.Entry(key, .string, .string(value.stringValue ?? "")))
                }
            }
        default: throw ExportError("export_format gguf: the \(family) model family does not give the GGUF metadata of a Hugging Face model (gguf_metadata)")
        }
        entries += try GGUFTokenizerWriter.entries(model.tokenizer, vocabularySize: model.vocabularySize, padID: specialID("pad", directory, model.tokenizer),
                                                   unknownID: specialID("unk", directory, model.tokenizer), source: directory + "/tokenizer.json")
        if let template = chatTemplate ?? model.chatTemplate { entries.append(GGUFWriter.Entry("tokenizer.chat_template", .string, .string(template))) }
        return entries
    }

    /// A special token's id ("pad", "unk"): tokenizer_config.json's <kind>_token, else config.json's <kind>_token_id.
    static func specialID(_ kind: String, _ directory: String, _ tokenizer: Tokenizer) -> Int? {
        let config = (try? JSON.parse(bytes: FileSystem.read(directory + "/tokenizer_config.json")))
        if let token = config?[kind + "_token"], let content = token.stringValue ?? token["content"]?.stringValue, let id = tokenizer.id(of: content) { return id }
        return (try? JSON.parse(bytes: FileSystem.read(directory + "/config.json")))?[kind + "_token_id"]?.intValue.map(Int.init)
    }
}
