// `export_format: gguf_lora` (or `factory export --gguf-lora`): a PEFT LoRA adapter written as llama.cpp's
// LoRA adapter GGUF (what its convert_lora_to_gguf.py writes; `llama-cli -m base.gguf --lora adapter.gguf`),
// export_dir/adapter.gguf: general.architecture the model's, general.type "adapter", adapter.type "lora",
// adapter.lora.alpha, and for each adapted linear "<llama.cpp weight name>.lora_a" [r, in] and ".lora_b"
// [out, r] — B's rows in llama.cpp's q/k order (the model family's gguf_write rules).
// llama.cpp scales a pair by alpha / r (its own rank) with one alpha for the file; a module whose PEFT scale
// differs (use_rslora, rank_pattern with alpha_pattern) has its scale's ratio folded into its B.
// What llama.cpp's format cannot hold is refused, naming it: DoRA, modules_to_save, trained biases,
// LoRA on embeddings.
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

enum GGUFLoRAExport {
    /// Writes the adapter at `adapterDirectory` (a PEFT LoRA of `model`) to `path` in `dtype`; returns the
    /// tensors and bytes written and a line on how it was scaled.
    static func write(adapterDirectory dir: String, model: LoadedModel, dtype: ExportDType, to path: String) throws -> (tensors: Int, bytes: Int, note: String) {
        func fail(_ what: String) -> ExportError { ExportError("\(dir) (export_format gguf_lora): \(what)") }
        let configPath = dir + "/adapter_config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else { throw fail("no adapter_config.json: a PEFT LoRA adapter directory is needed") }
        let config: JSON
        do { config = try JSON.parse(bytes: [UInt8](data)) } catch { throw ExportError("\(configPath): not valid JSON (\(error))") }
        guard config["peft_type"]?.stringValue == "LORA" else {
            throw fail("peft_type is '\(config["peft_type"]?.stringValue ?? "none")'; llama.cpp's adapter format holds LoRA only — export the merged model instead")
        }
        if config["use_dora"]?.boolValue == true { throw fail("a DoRA adapter: llama.cpp's LoRA format has no magnitude vector — export the merged model instead") }
        if let saved = config["modules_to_save"]?.arrayValue, !saved.isEmpty {
            throw fail("modules_to_save \(saved.compactMap(\.stringValue)): llama.cpp's LoRA format holds no whole modules — export the merged model instead")
        }
        if let bias = config["bias"]?.stringValue, bias != "none" {
            throw fail("bias \(bias): llama.cpp's LoRA format holds no trained biases — export the merged model instead")
        }
        guard let layout = try GGUFLayout(of: model) else {
            throw fail("the \(model.family.component.name) model family does not say how its weights are named in a GGUF (gguf_write)")
        }
        guard let architecture = layout.architecture else {
            throw fail("the \(model.family.component.name) model family does not name its llama.cpp architecture (gguf_architecture)")
        }
        let weightsPath = dir + "/adapter_model.safetensors"
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw fail("no adapter_model.safetensors") }
        let weights = try SafetensorsFile(path: weightsPath)

        // each lora_A / lora_B pair, by the module it adapts
        let prefix = "base_model.model."
        var modules: [String: (a: String?, b: String?)] = [:]
        for name in weights.tensors.keys.sorted() {
            guard name.hasPrefix(prefix) else { throw fail("tensor '\(name)' is not a PEFT adapter tensor") }
            let rest = name.dropFirst(prefix.count)
            if rest.hasSuffix(".lora_A.weight") { modules[String(rest.dropLast(".lora_A.weight".count)), default: (nil, nil)].a = name }
            else if rest.hasSuffix(".lora_B.weight") { modules[String(rest.dropLast(".lora_B.weight".count)), default: (nil, nil)].b = name }
            else { throw fail("tensor '\(name)' is no lora_A / lora_B of a linear; llama.cpp's LoRA format cannot hold it — export the merged model instead") }
        }
        guard !modules.isEmpty else { throw fail("adapter_model.safetensors holds no LoRA pair") }

        let r = Int(config["r"]?.intValue ?? 8), alpha = config["lora_alpha"]?.doubleValue ?? 8, rslora = config["use_rslora"]?.boolValue ?? false
        let rankPattern = config["rank_pattern"]?.objectValue ?? JSONObject(), alphaPattern = config["alpha_pattern"]?.objectValue ?? JSONObject()
        // PEFT's scale of a module: its alpha over its rank (or the rank's square root, rslora)
        func scale(of module: String, rank: Int) throws -> Double {
            let a = try patternValue(alphaPattern, module)?.doubleValue ?? alpha
            if let patterned = try patternValue(rankPattern, module)?.intValue, Int(patterned) != rank {
                throw fail("\(module): rank_pattern gives rank \(patterned), its lora_A has \(rank)")
            }
            return rslora ? a / Double(rank).squareRoot() : a / Double(rank)
        }

        struct Pair { let rule: GGUFLayout.Rule; let a: String; let b: String; let rank: Int; let shape: [Int]; let bFactor: Float }
        var pairs: [Pair] = []
        // the file's alpha gives the config's own r its PEFT scale (lora_alpha, or lora_alpha·√r with rslora)
        let writtenAlpha = (rslora ? alpha / Double(r).squareRoot() : alpha / Double(r)) * Double(r)
        var folded = 0
        for rule in layout.rules {  // the model's own order: blk.0's tensors first
            guard rule.parameter.hasSuffix(".weight") else { continue }
            let module = String(rule.parameter.dropLast(".weight".count))
            guard let pair = modules.removeValue(forKey: module) else { continue }
            guard let a = pair.a, let b = pair.b, let aShape = weights.tensors[a]?.shape, let bShape = weights.tensors[b]?.shape,
                  let shape = model.parameters[rule.parameter]?.shape, shape.count == 2 else {
                throw fail("\(module): a lora_A without its lora_B (or the other way), or no linear weight in the model")
            }
            let rank = aShape.first ?? 0
            guard aShape == [rank, shape[1]], bShape == [shape[0], rank] else {
                throw fail("\(module): lora_A \(aShape) and lora_B \(bShape) do not fit the model's \(shape) weight (another base model?)")
            }
            let factor = try scale(of: module, rank: rank) / (writtenAlpha / Double(rank))  // llama.cpp scales by alpha / rank; the rest goes into B
            if abs(factor - 1) > 1e-12 { folded += 1 }
            pairs.append(Pair(rule: rule, a: a, b: b, rank: rank, shape: shape, bFactor: Float(factor)))
        }
        if let (module, _) = modules.sorted(by: { $0.key < $1.key }).first {
            throw fail("\(module) is adapted but is no weight the \(model.family.component.name) family writes to a GGUF")
        }

        let type = GGUFExport.ggmlType(dtype)
        var tensors: [GGUFWriter.Tensor] = []
        for pair in pairs {
            tensors.append(GGUFWriter.Tensor(name: pair.rule.gguf + ".lora_a", shape: [pair.rank, pair.shape[1]], type: type) { append in
                try GGUFExport.encode(try weights.float32(pair.a), as: type, append)
            })
            tensors.append(GGUFWriter.Tensor(name: pair.rule.gguf + ".lora_b", shape: [pair.shape[0], pair.rank], type: type) { append in
                var b = try weights.float32(pair.b)
                if pair.bFactor != 1 { for i in b.indices { b[i] *= pair.bFactor } }
                try GGUFExport.encode(try GGUFLayout.toGGUF(b, rows: pair.shape[0], columns: pair.rank, pair.rule), as: type, append)
            })
        }
        let alphaValue = writtenAlpha
        let name = URL(fileURLWithPath: dir).lastPathComponent
        let metadata = [
            GGUFWriter.Entry("general.architecture", .string, .string(architecture)),
            GGUFWriter.Entry("general.type", .string, .string("adapter")),
            GGUFWriter.Entry("general.name", .string, .string(name)),
            GGUFWriter.Entry("general.file_type", .uint32, .uint(GGUFExport.fileType(dtype))),
            GGUFWriter.Entry("adapter.type", .string, .string("lora")),
            GGUFWriter.Entry("adapter.lora.alpha", .float32, .float(alphaValue)),
        ]
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
        var note = String(format: "adapter.lora.alpha %g, %d LoRA pairs", alphaValue, pairs.count)
        if folded > 0 { note += "; \(folded) pairs scaled otherwise (use_rslora, rank_pattern, alpha_pattern) have the ratio folded into their lora_b" }
        return (tensors.count, tensors.reduce(0) { $0 + $1.byteCount }, note)
    }

    /// The value of the first key of a PEFT rank_pattern / alpha_pattern that matches the end of `module`
    /// (PEFT's regex "(.*\.)?(key)$").
    static func patternValue(_ pattern: JSONObject, _ module: String) throws -> JSON? {
        for (key, value) in pattern.pairs {
            let regex: Regex<AnyRegexOutput>
            do { regex = try Regex("(.*\\.)?(" + key + ")") } catch { throw ExportError("adapter_config.json: pattern key '\(key)' is not a regular expression") }
            if (try? regex.wholeMatch(in: module)) != nil { return value }
        }
        return nil
    }
}
