// What training leaves on disk. A PEFT method's adapter: adapter_model.safetensors (the tensors
// under the names the plan gave, PEFT's) and adapter_config.json (the plan's adapter_config
// with the base model's name). A method that trains the base: model.safetensors with the
// model's parameter names, config.json and generation_config.json. Both: the tokenizer files with
// the chat template, as LLaMA-Factory saves them. Every file is written atomically.
import FactoryEngine
import FactoryFormats
import FactoryTokenizers
import FactoryJSON
import FactoryPipeline
import Foundation

public enum AdapterFiles {
    /// Writes the trained tensors of `adapted` into `directory` (created if needed).
    public static func save(_ adapted: AdaptedModel, to directory: String, baseModel: String) throws {
        try FileSystem.createDirectory(directory)
        let peft = adapted.declaration.adapterFormat == "peft"
        let tensors: [(String, Tensor)] = peft ? adapted.trainable.flatMap { t in ([t.savedAs] + t.alsoSavedAs).map { ($0, t.tensor) } } : wholeModel(adapted.model)
        try writeTensors(tensors, to: directory + (peft ? "/adapter_model.safetensors" : "/model.safetensors"))
        if !peft {
            // a whole model: config.json from the family, tied copies dropped
            if var hf = adapted.model.description["hf_config"]?.objectValue {
                // what was saved decides: a head sharing the embeddings' storage was left out, so it is tied
                hf["tie_word_embeddings"] = .bool(!tensors.contains { $0.0 == "lm_head.weight" } && adapted.model.parameters["lm_head.weight"] != nil)
                try AtomicFile.write(JSON.object(hf).prettyPrinted() + "\n", to: directory + "/config.json")
            }
        }
        try writeTokenizerFiles(adapted.model, to: directory, withGenerationConfig: !peft)
        if peft {
            var config = adapted.plan["adapter_config"]?.objectValue ?? JSONObject()
            config["base_model_name_or_path"] = .string(baseModel)
            try AtomicFile.write(JSON.object(config).prettyPrinted() + "\n", to: directory + "/adapter_config.json")
        }
    }

    /// The tokenizer (with its chat template) beside the weights or the adapter, as LLaMA-Factory saves it: a
    /// Hugging Face base's files copied, a GGUF's tokenizer written as Hugging Face files. With a whole model
    /// also generation_config.json (the base's, or the GGUF's BOS/EOS ids).
    public static func writeTokenizerFiles(_ model: LoadedModel, to directory: String, withGenerationConfig: Bool) throws {
        var copiedGenerationConfig = false
        switch model.location.format {
        case .huggingface:
            for file in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"]
                + (withGenerationConfig ? ["generation_config.json"] : []) {
                let source = model.location.path + "/" + file
                guard let data = FileManager.default.contents(atPath: source) else { continue }
                try AtomicFile.write([UInt8](data), to: directory + "/" + file)
                if file == "generation_config.json" { copiedGenerationConfig = true }
            }
        case .gguf:
            let path = model.location.path
            for (file, json) in try HFTokenizerFiles.fromGGUF(try GGUFMetadata.read(file: path), file: path) {
                try AtomicFile.write(json.serialized() + "\n", to: directory + "/" + file)
            }
        }
        if !model.addedVocabulary.isEmpty { try writeAddedTokens(model, to: directory) }
        if withGenerationConfig && !copiedGenerationConfig {  // as save_pretrained derives it: the BOS and EOS ids
            let tokenizer = model.tokenizer
            var config = JSONObject()
            if let bos = tokenizer.bosID { config["bos_token_id"] = .int(Int64(bos)) }
            let eos = model.stopIDs.sorted()
            if !eos.isEmpty { config["eos_token_id"] = eos.count == 1 ? .int(Int64(eos[0])) : .array(eos.map { .int(Int64($0)) }) }
            try AtomicFile.write(JSON.object(config).prettyPrinted() + "\n", to: directory + "/generation_config.json")
        }
    }

    /// The tokens add_tokens / add_special_tokens added, in the saved tokenizer.json's added_tokens (and
    /// tokenizer_config.json's added_tokens_decoder when it has one), as a tokenizer saved after add_tokens
    /// lists them: the saved tokenizer has the model's vocabulary.
    static func writeAddedTokens(_ model: LoadedModel, to directory: String) throws {
        let added = model.tokenizer.addedTokens.filter { model.addedVocabulary.contains($0.content) }
        func entry(_ t: AddedToken) -> JSONObject {
            JSONObject([("id", .int(Int64(t.id))), ("content", .string(t.content)), ("single_word", false), ("lstrip", false), ("rstrip", false),
                        ("normalized", .bool(!t.special)), ("special", .bool(t.special))])
        }
        let tokenizerPath = directory + "/tokenizer.json"
        if var tokenizer = try JSON.parse(bytes: FileSystem.read(tokenizerPath)).objectValue {
            var list = tokenizer["added_tokens"]?.arrayValue ?? []
            let present = Set(list.compactMap { $0["content"]?.stringValue })
            list += added.filter { !present.contains($0.content) }.map { .object(entry($0)) }
            tokenizer["added_tokens"] = .array(list)
            try AtomicFile.write(JSON.object(tokenizer).serialized() + "\n", to: tokenizerPath)
        }
        let configPath = directory + "/tokenizer_config.json"
        if FileManager.default.fileExists(atPath: configPath), var config = try JSON.parse(bytes: FileSystem.read(configPath)).objectValue,
           var decoder = config["added_tokens_decoder"]?.objectValue {
            for t in added {
                var e = entry(t)
                e["id"] = nil
                decoder[String(t.id)] = .object(e)
            }
            config["added_tokens_decoder"] = .object(decoder)
            try AtomicFile.write(JSON.object(config).prettyPrinted() + "\n", to: configPath)
        }
    }

    /// Every parameter once: a tied LM head (the embedding's storage) is left out, as transformers saves it.
    public static func wholeModel(_ model: LoadedModel) -> [(String, Tensor)] {
        let store = model.parameters
        let names = store.names.filter { !$0.hasPrefix("lm_head") } + store.names.filter { $0.hasPrefix("lm_head") }
        var seen = Set<ObjectIdentifier>()
        return names.compactMap { name in
            guard let t = store[name], seen.insert(ObjectIdentifier(t.storage)).inserted else { return nil }
            return (name, t)
        }
    }

    /// Writes named tensors (contiguous copies where needed) as one fp32 safetensors file.
    static func writeTensors(_ tensors: [(String, Tensor)], to path: String) throws {
        let contiguous = tensors.map { ($0.0, $0.1.isContiguous ? $0.1 : $0.1.contiguousCopy()) }
        let entries = contiguous.map { name, t in
            SafetensorsWriter.Entry(name: name, shape: t.shape, values: UnsafeBufferPointer(start: t.data, count: t.count))
        }
        try withExtendedLifetime(contiguous) { try SafetensorsWriter.write(entries, to: path) }
    }
}
