// A LoRA adapter in llama.cpp's GGUF format (what its convert_lora_to_gguf.py and `factory export` with
// export_format gguf_lora write; llama.cpp's `--lora`), read as the PEFT LoRA adapter it is, so that
// adapter_name_or_path takes one wherever it takes a PEFT directory:
//   general.type "adapter", adapter.type "lora", general.architecture the model's (llama.cpp refuses a
//   mismatch, so does Factory); adapter.lora.alpha the one alpha (0 or absent: llama.cpp scales by 1);
//   "<gguf weight>.lora_a" [r, in] and "<gguf weight>.lora_b" [out, r] for each adapted linear, B's rows
//   in llama.cpp's q/k order, which the model family's gguf_write rules undo.
// llama.cpp scales each pair by alpha / r with r that pair's own rank: PEFT's lora_alpha / r with a
// rank_pattern entry for every module whose rank is not the most common one.
import FactoryEngine
import FactoryFormats
import FactoryJSON
import FactoryPipeline

public final class GGUFLoRAAdapter {
    public let path: String
    /// The PEFT adapter_config.json this adapter is (peft_type LORA, r, lora_alpha, target_modules the
    /// adapted modules by full name, rank_pattern / alpha_pattern where they differ).
    public let adapterConfig: JSON
    let file: GGUFFile
    /// PEFT tensor name → the GGUF tensor and, for a B whose rows llama.cpp permuted, the rule that undoes it.
    let entries: [String: (info: GGUFTensorInfo, rule: GGUFLayout.Rule?)]

    /// Reads `path` for `model`; throws one line naming the file and the key or tensor that does not fit.
    public init(path: String, model: LoadedModel) throws {
        self.path = path
        file = try GGUFFile(path: path)
        let metadata = file.metadata
        func fail(_ what: String) -> TrainingError { TrainingError("\(path) (adapter_name_or_path): \(what)") }
        guard metadata.string("general.type") == "adapter" else {
            throw fail("general.type is '\(metadata.string("general.type") ?? "none")', not 'adapter': a model GGUF goes in model_name_or_path, adapter_name_or_path takes a LoRA adapter")
        }
        guard metadata.string("adapter.type") == "lora" else { throw fail("adapter.type is '\(metadata.string("adapter.type") ?? "none")'; Factory reads LoRA adapters ('lora')") }
        guard let layout = try GGUFLayout(of: model) else {
            throw fail("the \(model.family.component.name) model family does not say how its weights are named in a GGUF (gguf_write)")
        }
        let architecture = metadata.string("general.architecture") ?? "none"
        if let expected = layout.architecture, architecture != expected {
            throw fail("general.architecture is '\(architecture)', the model is '\(expected)' (llama.cpp refuses the pair too)")
        }
        let alpha: Double? = metadata.values["adapter.lora.alpha"].flatMap { value -> Double? in
            switch value {
            case .float(let f): return f
            case .int(let i): return Double(i)
            case .uint(let u): return Double(u)
            default: return nil
            }
        }.flatMap { $0 == 0 ? nil : $0 }  // llama.cpp: an alpha of 0 scales by 1

        var pairs: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for info in file.tensors {
            if info.name.hasSuffix(".lora_a") { pairs[String(info.name.dropLast(7)), default: (nil, nil)].a = info }
            else if info.name.hasSuffix(".lora_b") { pairs[String(info.name.dropLast(7)), default: (nil, nil)].b = info }
            else { throw fail("tensor '\(info.name)' is neither a .lora_a nor a .lora_b; the adapter is refused rather than applied in part") }
        }
        var entries: [String: (GGUFTensorInfo, GGUFLayout.Rule?)] = [:]
        var ranks: [(module: String, rank: Int)] = []
        for (weight, pair) in pairs.sorted(by: { $0.key < $1.key }) {
            guard let a = pair.a, let b = pair.b else { throw fail("'\(weight)' has a \(pair.a == nil ? "lora_b without its lora_a" : "lora_a without its lora_b")") }
            guard let rule = layout.byGGUF[weight] else { throw fail("'\(weight)' is no weight of the \(model.family.component.name) model family") }
            guard let base = model.description["parameters"]?.arrayValue?.first(where: { $0["name"]?.stringValue == rule.parameter }),
                  base["linear"]?.boolValue == true, let shape = base["shape"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }), shape.count == 2 else {
                throw fail("'\(weight)' (\(rule.parameter)) is not a linear layer Factory adapts with LoRA")
            }
            let r = a.shape.count == 2 ? a.shape[0] : 0
            guard a.shape == [r, shape[1]], b.shape == [shape[0], r], r > 0 else {
                throw fail("'\(weight)': lora_a is \(a.shape) and lora_b \(b.shape), a [r, \(shape[1])] and [\(shape[0]), r] pair expected for \(rule.parameter) \(shape)")
            }
            for t in [a, b] where ![GGMLType.f32, .f16, .bf16, .q8_0].contains(t.type) {
                throw fail("'\(t.name)' is \(t.type), which Factory does not read in an adapter (f32, f16, bf16, q8_0)")
            }
            guard rule.parameter.hasSuffix(".weight") else { throw fail("'\(weight)' maps to \(rule.parameter), not a linear's weight") }
            let module = String(rule.parameter.dropLast(".weight".count))
            if case .plusOne = rule.kind { throw fail("'\(weight)': a norm weight cannot carry a LoRA pair") }
            let peft = "base_model.model." + module
            entries[peft + ".lora_A.weight"] = (a, nil)
            entries[peft + ".lora_B.weight"] = (b, rule)
            ranks.append((module, r))
        }
        guard !ranks.isEmpty else { throw fail("it holds no lora_a / lora_b pair") }
        self.entries = entries

        // the most common rank is r; the others go to rank_pattern (full names, dots escaped: PEFT matches a
        // key against the end of a name); lora_alpha is llama.cpp's alpha, else each module's rank (scale 1) through alpha_pattern
        let counts = Dictionary(ranks.map { ($0.rank, 1) }, uniquingKeysWith: +)
        let r = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        func anchored(_ module: String) -> String { module.replacingOccurrences(of: ".", with: "\\.") }
        var rankPattern = JSONObject(), alphaPattern = JSONObject()
        for (module, rank) in ranks {
            if rank != r { rankPattern[anchored(module)] = .int(Int64(rank)) }
            if alpha == nil && rank != r { alphaPattern[anchored(module)] = .double(Double(rank)) }
        }
        adapterConfig = .object(JSONObject([
            ("peft_type", "LORA"), ("task_type", "CAUSAL_LM"), ("r", .int(Int64(r))), ("lora_alpha", .double(alpha ?? Double(r))),
            ("target_modules", .array(ranks.map { .string($0.module) })), ("rank_pattern", .object(rankPattern)),
            ("alpha_pattern", .object(alphaPattern)), ("lora_dropout", .double(0)), ("bias", "none"),
        ]))
    }
}

extension GGUFLoRAAdapter: SavedAdapterTensors {
    public var tensorNames: [String] { Array(entries.keys) }

    public func shape(of name: String) -> [Int]? { entries[name]?.info.shape }

    /// The tensor's values in PEFT's layout (a B's rows back in Hugging Face's q/k order).
    public func float32(_ name: String) throws -> [Float] {
        guard let (info, rule) = entries[name] else { throw TrainingError("\(path): no tensor '\(name)'") }
        let values = file.dequantize(info)
        guard let rule else { return values }
        return try GGUFLayout.fromGGUF(values, rows: info.shape[0], columns: info.shape[1], rule)
    }
}
