// `factory export` (and `factory run` with an export-only config), as `llamafactory-cli export` reads the
// same YAML: the model loads in fp32, every adapter of adapter_name_or_path is merged into it in order,
// and export_dir receives a Hugging Face directory — config.json, generation_config.json, the weights in
// infer_dtype split by export_size (with model.safetensors.index.json), the tokenizer files with the chat
// template, and for a reward model (stage rm) value_head.safetensors.
//
// Everything is written into export_dir/export.partial first and moved into place only when all of it
// was written: an export that fails leaves export_dir as it was. Weight files of an earlier export that
// this one does not write again (a different shard count) are removed, as save_pretrained does, so the
// directory never mixes two exports. The run's lock file goes at the end (the lock lasts until the process
// ends): the directory holds the export and nothing else of Factory's.
import FactoryConfig
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation

public enum ExportJob {
    /// Loads, merges and writes; `located`: the model's files when the run's plan found them already.
    public static func run(_ config: RunConfig, plugins: PluginSet, located: LocatedModel? = nil,
                           print: @escaping (String) -> Void = { Swift.print($0) }) throws {
        guard let directory = config.string("export_dir") else { throw ExportError("set export_dir: the directory the exported model goes to") }
        guard let request = config.string("model_name_or_path") else { throw ExportError("no model: set model_name_or_path") }
        if config.int("quantization_bit") != nil || config.string("quantizer") != nil {
            let key = config.string("quantizer") != nil ? "quantizer" : "quantization_bit"
            throw ExportError("\(key): an export merges into full-precision weights; a base loaded quantized could not take the adapters without losing precision (LLaMA-Factory refuses it too); leave it unset")
        }
        let started = Date()
        let output = try OutputDirectory(locking: directory)
        defer {  // the lock lasts until the process ends; the export directory is for uploading as it is
            unlink(directory + "/" + OutputDirectory.lockName)
            withExtendedLifetime(output) {}
        }
        let removed = output.removeLeftovers()
        if !removed.isEmpty { print("removed what an interrupted export left in \(directory): \(removed.joined(separator: ", "))") }

        let context = ExecutionContext.current.derived()
        try context.run {
            let (rope, vocabulary) = (config.ropeScaling(training: false), config.vocabularyChange())
            let model = try located.map { try LoadedModel.load($0, plugins: plugins, ropeScaling: rope, vocabulary: vocabulary) }
                ?? LoadedModel.load(request, plugins: plugins, ropeScaling: rope, vocabulary: vocabulary)
            let adapters = config.list("adapter_name_or_path") ?? []
            let format = config.string("export_format") ?? "hf"
            let modelNames = Set(model.parameters.names)  // an adapter's own tensors join the store; they are merged, not exported
            if format == "gguf_lora" {
                guard adapters.count == 1, let adapter = adapters.first else {
                    throw ExportError("export_format gguf_lora writes one LoRA adapter for llama.cpp's --lora; adapter_name_or_path names \(adapters.count) "
                                      + "(merge the others into the base with an export first)")
                }
                // the lora plugin reads the adapter's config first: whatever it refuses to apply is not exported either
                let (component, methodConfig) = try AdapterLoading.methodConfig(adapterDirectory: adapter, plugins: plugins, model: model)
                _ = try FinetuningMethodInstance(component, config: .object(methodConfig))
                try exportAdapter(adapter, model: model, config: config, plugins: plugins, directory: directory, started: started, print: print)
                return
            }
            if !adapters.isEmpty {
                try AdapterLoading.apply(adapters, to: model, plugins: plugins, merge: true)
                BufferPool.shared.trim()  // the merge's scratch buffers: nothing reuses them while the export writes
                print("merged into the base, in order: \(adapters.joined(separator: ", "))")
            }
            guard model.tokenizer.vocabularySize <= model.vocabularySize else {
                throw ExportError("the tokenizer has \(model.tokenizer.vocabularySize) tokens and the model's embeddings \(model.vocabularySize) rows; "
                                  + "set resize_vocab: true (as in training) so the embeddings hold every token")
            }
            let sourceConfig = model.location.format == .huggingface ? try? JSON.parse(bytes: FileSystem.read(model.location.path + "/config.json")) : nil
            let (dtype, why) = try ExportDType.resolve(config.string("infer_dtype"),
                                                       declared: sourceConfig?["torch_dtype"]?.stringValue ?? sourceConfig?["dtype"]?.stringValue)
            print("weights in \(dtype.rawValue) (\(why))")

            let staging = directory + "/export.partial"
            try? FileManager.default.removeItem(atPath: staging)
            let gguf = format == "gguf"
            let written: (tensors: Int, files: [String], bytes: Int)
            do {
                try FileSystem.createDirectory(staging)
                let chatTemplate = try chatTemplateToWrite(config, model: model, plugins: plugins, print: print)
                if gguf {
                    let quantizer = try config.string("export_quantizer").map { name in
                        var q = try GGUFExport.BlockQuantizer(try QuantizerInstance(try plugins.registry(.quantizer).lookup(name)))
                        try q.findFallback(in: plugins.registry(.quantizer))
                        return q
                    }
                    let (count, bytes, packed) = try GGUFExport.write(model, names: modelNames, dtype: dtype, quantizer: quantizer, chatTemplate: chatTemplate,
                                                                      to: staging + "/model.gguf")
                    if quantizer != nil {
                        let counts = packed.sorted { $0.key < $1.key }.map { "\($0.value) by \($0.key)" }.joined(separator: ", ")
                        print("matrices packed: \(counts.isEmpty ? "none" : counts) (rows that are not whole blocks of any go in \(dtype.rawValue)); vectors in float32")
                    }
                    written = (count, ["model.gguf"], bytes)
                } else {
                    let weights = try writeWeights(model, names: modelNames, dtype: dtype, limitGB: config.int("export_size") ?? 5, to: staging)
                    written = (weights.names.count, weights.files, weights.bytes)
                    try writeConfig(model, source: sourceConfig, dtype: dtype, tied: !weights.names.contains("lm_head.weight") && model.parameters["lm_head.weight"] != nil,
                                    ropeOverridden: config.string("rope_scaling") != nil, to: staging)
                    try AdapterFiles.writeTokenizerFiles(model, to: staging, withGenerationConfig: true)
                    if let chatTemplate { try writeChatTemplate(chatTemplate, to: staging) }
                }
                try copyValueHead(config, stage: config.stage, adapters: adapters, model: model, to: staging, print: print)
                let modelfile = try OllamaModelfile.text(templateName: config.string("template"), plugins: plugins, model: model, from: gguf ? "./model.gguf" : ".")
                if let text = modelfile.text { try AtomicFile.write(text, to: staging + "/Modelfile") } else { OllamaModelfile.removeEarlier(in: directory) }
                print(modelfile.note)
            } catch {
                try? FileManager.default.removeItem(atPath: staging)  // nothing of this export reaches export_dir
                throw error
            }

            for name in output.contents where ShardPlan.isWeightFile(name) && !written.files.contains(name) {
                try? FileManager.default.removeItem(atPath: directory + "/" + name)  // an earlier export's other shards
            }
            try OutputDirectory.moveContents(of: staging, into: directory)
            print(String(format: "exported %@ (%d tensors, %.1f MB in %d file%@) to %@ in %.1f s", request, written.tensors,
                         Double(written.bytes) / 1e6, written.files.count, written.files.count == 1 ? "" : "s", directory, Date().timeIntervalSince(started)))
        }
    }

    /// export_format gguf_lora: `adapter` (a PEFT LoRA of `model`) as llama.cpp's LoRA adapter GGUF,
    /// export_dir/adapter.gguf, in infer_dtype; written atomically, the directory's other files left alone.
    /// The Ollama Modelfile beside it names the base model FROM and the adapter as ADAPTER.
    static func exportAdapter(_ adapter: String, model: LoadedModel, config: RunConfig, plugins: PluginSet, directory: String, started: Date,
                              print: (String) -> Void) throws {
        let (dtype, why) = try ExportDType.resolve(config.string("infer_dtype"), declared: nil)
        print("adapter in \(dtype.rawValue) (\(why))")
        if config.stage == .rm, FileManager.default.fileExists(atPath: adapter + "/" + ValueHead.fileName) {
            print("\(adapter)/\(ValueHead.fileName) not exported: llama.cpp's LoRA format holds no value head (export the merged model for a reward model)")
        }
        let modelfile = try OllamaModelfile.text(templateName: config.string("template"), plugins: plugins, model: model,
                                                 from: URL(fileURLWithPath: model.location.path).standardizedFileURL.path, adapter: "./adapter.gguf")
        let (tensors, bytes, note) = try GGUFLoRAExport.write(adapterDirectory: adapter, model: model, dtype: dtype, to: directory + "/adapter.gguf")
        print(note)
        if let text = modelfile.text { try AtomicFile.write(text, to: directory + "/Modelfile") } else { OllamaModelfile.removeEarlier(in: directory) }
        print(modelfile.note)
        print(String(format: "exported %@ as a llama.cpp LoRA adapter (%d tensors, %.1f MB) to %@/adapter.gguf in %.1f s; "
                     + "llama.cpp applies it to the base model's GGUF (--lora)", adapter, tensors, Double(bytes) / 1e6, directory, Date().timeIntervalSince(started)))
    }

    /// The model's weights among `names`, tied copies left out, in `dtype`, split by `limitGB`; returns the
    /// tensor names, files and bytes written.
    static func writeWeights(_ model: LoadedModel, names modelNames: Set<String>, dtype: ExportDType, limitGB: Int, to directory: String) throws
        -> (names: [String], files: [String], bytes: Int) {
        if let packed = model.parameters.packed.keys.sorted().first {
            throw ExportError("\(packed): this weight is still packed by a quantizer; export needs the model loaded in full precision")
        }
        let tensors = AdapterFiles.wholeModel(model).filter { modelNames.contains($0.0) }.map { ($0.0, $0.1.isContiguous ? $0.1 : $0.1.contiguousCopy()) }
        let names = tensors.map(\.0)
        let plan = ShardPlan(sizes: tensors.map { $0.1.count * dtype.bytesPerValue }, limit: limitGB * 1_000_000_000)
        try withExtendedLifetime(tensors) {
            for (file, members) in plan.files {
                try SafetensorsWriter.write(members.map { dtype.entry(name: tensors[$0].0, tensor: tensors[$0].1) }, to: directory + "/" + file)
            }
        }
        if let index = plan.index(names: names) {
            try AtomicFile.write(index.prettyPrinted() + "\n", to: directory + "/model.safetensors.index.json")
        }
        return (names, plan.files.map(\.name), plan.totalBytes)
    }

    /// config.json: the source directory's own (a GGUF's as its family describes it), with the written dtype,
    /// whether the head is tied, and the rope scaling a rope_scaling key asked for.
    static func writeConfig(_ model: LoadedModel, source: JSON?, dtype: ExportDType, tied: Bool, ropeOverridden: Bool, to directory: String) throws {
        let family = model.description["hf_config"]?.objectValue ?? JSONObject()
        var config = source?.objectValue ?? family
        config["torch_dtype"] = .string(dtype.rawValue)
        if config["dtype"] != nil { config["dtype"] = .string(dtype.rawValue) }
        config["tie_word_embeddings"] = .bool(tied)
        config["vocab_size"] = .int(Int64(model.vocabularySize))  // the embeddings' rows, grown with resize_vocab
        if ropeOverridden, let scaling = family["rope_scaling"] { config["rope_scaling"] = scaling }
        try AtomicFile.write(JSON.object(config).prettyPrinted() + "\n", to: directory + "/config.json")
    }

    /// The exported tokenizer chats the way the model was trained: with `template` set and rendering
    /// differently from the model's own chat template (TemplateCheck), the template's Jinja form, which the
    /// export writes instead of the model's own; nil otherwise (the model's own stays: it renders the same,
    /// tools included). A template without a Jinja form is refused then.
    static func chatTemplateToWrite(_ config: RunConfig, model: LoadedModel, plugins: PluginSet, print: (String) -> Void) throws -> String? {
        guard let name = config.string("template") else { return nil }
        let template = try ChatTemplateInstance(try plugins.registry(.chatTemplate).lookup(name))
        if let own = model.chatTemplate, try TemplateCheck.run(plugin: template, modelTemplate: own, tokenizer: model.tokenizer).allSatisfy(\.matches) {
            print("chat template: the model's own (the \(name) template renders the same)")
            return nil
        }
        guard let jinja = try template.jinjaTemplate() else {
            throw ExportError("template \(name): it renders differently from the model's own chat template and has no Jinja form to write into the exported tokenizer, "
                              + "which would then chat another way than the model was trained; export with the model's own template (leave template unset)")
        }
        print("chat template: the \(name) template's Jinja form (it renders differently from the model's own)")
        return jinja
    }

    /// tokenizer_config.json's chat_template set to `jinja`; a copied chat_template.jinja, which transformers
    /// would prefer, goes.
    static func writeChatTemplate(_ jinja: String, to directory: String) throws {
        let path = directory + "/tokenizer_config.json"
        var tokenizerConfig = FileManager.default.fileExists(atPath: path) ? (try JSON.parse(bytes: FileSystem.read(path))).objectValue ?? JSONObject() : JSONObject()
        tokenizerConfig["chat_template"] = .string(jinja)
        try AtomicFile.write(JSON.object(tokenizerConfig).prettyPrinted() + "\n", to: path)
        try? FileManager.default.removeItem(atPath: directory + "/chat_template.jinja")
    }

    /// LLaMA-Factory copies value_head.safetensors (from the last adapter, else the model's directory) when
    /// the config's stage is rm; a value head found under another stage is left out, with a line saying so.
    static func copyValueHead(_ config: RunConfig, stage: Stage, adapters: [String], model: LoadedModel, to directory: String,
                              print: (String) -> Void) throws {
        let from = adapters.last ?? (model.location.format == .huggingface ? model.location.path : nil)
        guard let from else { return }
        let path = from + "/" + ValueHead.fileName
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard stage == .rm else {
            print("\(path) not exported: set stage: rm to export a reward model with its value head")
            return
        }
        try AtomicFile.write(try FileSystem.read(path), to: directory + "/" + ValueHead.fileName)
    }
}
