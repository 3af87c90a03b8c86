// `export_format: gguf` (or `factory export --gguf`): the merged model as one GGUF v3 file, export_dir/model.gguf,
// that llama.cpp loads. From a GGUF model (SmolLM2's pip package among them) the source file's metadata is
// copied key by key with its types (architecture, tokenizer, chat template — the template Factory trained
// with when it renders differently); from a Hugging Face directory it is written (HuggingFaceGGUFMetadata).
// Each tensor is written from the merged model, laid out as llama.cpp lays it out (the model family's
// `gguf_write` rules: q and k rows in llama.cpp's per-head order, Gemma's norms plus one) in infer_dtype:
// float32, or float16 / bfloat16 for the matrices with the norms and other vectors kept in float32, as
// llama.cpp's converter writes them.
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTokenizers

enum GGUFExport {
    /// llama.cpp's general.file_type for a whole-model dtype (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16).
    static func fileType(_ dtype: ExportDType) -> UInt64 {
        switch dtype {
        case .float32: return 0
        case .float16: return 1
        case .bfloat16: return 32
        }
    }

    static func ggmlType(_ dtype: ExportDType) -> GGMLType {
        switch dtype {
        case .float32: return .f32
        case .float16: return .f16
        case .bfloat16: return .bf16
        }
    }

    /// A quantizer plugin whose packed format is a GGUF block type ("q8_0", "q4_1", ...: its packed rows are
    /// ggml's blocks), with that type.
    struct BlockQuantizer {
        let instance: QuantizerInstance
        let type: GGMLType
        let name: String
        /// For rows that are not whole blocks of a K-quant: the 32-value format llama.cpp's quantizer falls
        /// back to (q4_K → q5_0, q5_K → q5_1, q6_K → q8_0; q2_K and q3_K → q4_0, where llama.cpp uses IQ4_NL,
        /// which Factory has no quantizer for), when that quantizer plugin is registered.
        private(set) var fallback: [BlockQuantizer] = []

        init(_ instance: QuantizerInstance) throws {
            let format = try instance.declaration().format.lowercased()
            guard let type = GGMLType.allCases.first(where: { $0.description.lowercased() == format && $0.blockSize > 1 }) else {
                throw ExportError("export_quantizer \(instance.component.name): it packs '\(format)', which is no GGUF block type (q8_0, q4_0, q4_1, q5_0, q5_1, q2_K … q6_K)")
            }
            (self.instance, self.type, name) = (instance, type, instance.component.name)
        }

        /// Adds the fallback format's quantizer from `quantizers` (looked up by the format's name).
        mutating func findFallback(in quantizers: Registry) throws {
            let fallbacks: [GGMLType: GGMLType] = [.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0, .q2_K: .q4_0, .q3_K: .q4_0]
            guard let other = fallbacks[type], let component = quantizers.components.first(where: { $0.name == other.description.lowercased() }) else { return }
            fallback = [try BlockQuantizer(try QuantizerInstance(component))]
        }

        /// The quantizer for rows of `columns` values: this one, its fallback, or none (left unpacked).
        func forRows(of columns: Int) -> BlockQuantizer? {
            columns % type.blockSize == 0 ? self : fallback.first { columns % $0.type.blockSize == 0 }
        }
    }

    /// llama.cpp's general.file_type for a model quantized to `type` (LLAMA_FTYPE_MOSTLY_*).
    static func fileType(_ type: GGMLType) -> UInt64? {
        switch type {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_K: return 10
        case .q3_K: return 12  // Q3_K_M
        case .q4_K: return 15  // Q4_K_M
        case .q5_K: return 17  // Q5_K_M
        case .q6_K: return 18
        default: return nil
        }
    }

    /// Writes `model` (adapters merged; parameters among `names`) to `path`; `chatTemplate`: the Jinja to
    /// write instead of the source's, if any; `quantizer`: the matrices packed by it (vectors and matrices
    /// whose rows are not whole blocks go to its fallback, else stay in `dtype`). Returns the number of
    /// tensors, the bytes written, and how many matrices each quantizer packed.
    static func write(_ model: LoadedModel, names: Set<String>, dtype: ExportDType, quantizer: BlockQuantizer?, chatTemplate: String?,
                      to path: String) throws -> (tensors: Int, bytes: Int, packed: [String: Int]) {
        guard let layout = try GGUFLayout(of: model) else {
            throw ExportError("export_format gguf: the \(model.family.component.name) model family does not describe how its weights are laid out in a GGUF (gguf_write)")
        }
        let writtenType = quantizer.flatMap { fileType($0.type) } ?? fileType(dtype)
        let source = model.location.format == .gguf ? try GGUFFile(path: model.location.path) : nil
        let metadata = try source.map { copiedMetadata($0, fileType: writtenType, chatTemplate: chatTemplate, vocabulary: (model.vocabularySize, model.tokenizer)) }
            ?? HuggingFaceGGUFMetadata.entries(model, layout: layout, fileType: writtenType, quantized: quantizer != nil, chatTemplate: chatTemplate)

        var tensors: [GGUFWriter.Tensor] = []
        var bytes = 0, packed: [String: Int] = [:]
        var written = Set<ObjectIdentifier>()  // parameters' storage, so a head tied to the embeddings is written once
        func add(_ rule: GGUFLayout.Rule, shape: [Int]) throws {
            let (gguf, name) = (rule.gguf, rule.parameter)
            guard names.contains(name), let parameter = model.parameters[name] else {
                throw ExportError("\(gguf): the merged model has no parameter '\(name)' to write")
            }
            guard parameter.shape == shape else { throw ExportError("\(gguf): the model's '\(name)' is \(parameter.shape), the source GGUF's \(shape)") }
            written.insert(ObjectIdentifier(parameter.storage))
            // each tensor is laid out, converted or packed as it is written: one at a time in memory
            let tensor: GGUFWriter.Tensor
            if shape.count == 2, let quantizer = quantizer?.forRows(of: shape[1]) {
                tensor = GGUFWriter.Tensor(name: gguf, shape: shape, type: quantizer.type) { append in
                    let blocks = try quantizer.instance.quantize(try laidOut(parameter, rule), rows: shape[0], cols: shape[1])
                    try blocks.withUnsafeBytes { try append($0) }
                }
                packed[quantizer.name, default: 0] += 1
            } else {
                let type = parameter.shape.count >= 2 ? ggmlType(dtype) : .f32  // vectors (norms, biases) stay f32
                tensor = GGUFWriter.Tensor(name: gguf, shape: shape, type: type) { append in try encode(try laidOut(parameter, rule), as: type, append) }
            }
            tensors.append(tensor)
            bytes += tensor.byteCount
        }
        for info in source?.tensors ?? [] {
            guard let rule = layout.byGGUF[info.name] else {
                // a tensor the family reads but does not own as a parameter (llama.cpp's rope_freqs): copied
                guard try model.family.mapCheckpointName(format: "gguf", name: info.name) == nil else {
                    throw ExportError("\(model.location.path): tensor '\(info.name)' has no gguf_write rule in the \(model.family.component.name) family")
                }
                tensors.append(GGUFWriter.Tensor(name: info.name, shape: info.shape, type: info.type) { append in try append(source!.bytes(info)) })
                bytes += info.byteCount
                continue
            }
            // a vocabulary-sized tensor grown by add_tokens / resize_vocab: written at the model's rows
            let grown = model.parameters[rule.parameter].map { $0.shape.count == 2 && info.shape.count == 2 && $0.shape[1] == info.shape[1]
                && $0.shape[0] == model.vocabularySize && info.shape[0] < model.vocabularySize } ?? false
            try add(rule, shape: grown ? model.parameters[rule.parameter]!.shape : info.shape)
        }
        // a parameter the source file lacks but the merged model has on its own storage: a head that training
        // untied from the embeddings (modules_to_save) is written as output.weight; from a Hugging Face
        // directory, every parameter in the family's order (a head tied to the embeddings after them, so it is
        // the one left out)
        let present = Set(source?.tensors.map(\.name) ?? [])
        let rest = source == nil ? layout.rules.filter { $0.parameter != "lm_head.weight" } + layout.rules.filter { $0.parameter == "lm_head.weight" }
            : layout.rules.sorted(by: { $0.gguf < $1.gguf })
        for rule in rest where !present.contains(rule.gguf) {
            guard names.contains(rule.parameter), let parameter = model.parameters[rule.parameter], !written.contains(ObjectIdentifier(parameter.storage)) else { continue }
            try add(rule, shape: parameter.shape)
        }
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
        return (tensors.count, bytes, packed)
    }

    /// A GGUF source's metadata, key by key with its stored types: `general.file_type` what is written, the
    /// chat template replaced by `chatTemplate` when given, and a vocabulary grown by add_tokens /
    /// resize_vocab (`vocabulary`: the model's rows and tokenizer) written in: the tokens and their types up to
    /// the rows (an added token at its id, control if special else user-defined; other new rows "[PAD<id>]",
    /// unused) and <arch>.vocab_size.
    static func copiedMetadata(_ source: GGUFFile, fileType: UInt64, chatTemplate: String?, vocabulary: (rows: Int, tokenizer: Tokenizer)) -> [GGUFWriter.Entry] {
        var metadata: [GGUFWriter.Entry] = []
        let architecture = source.metadata.architecture ?? ""
        var grown: (tokens: [GGUFValue], types: [GGUFValue])?
        if case .array(let tokens)? = source.metadata.values["tokenizer.ggml.tokens"], tokens.count < vocabulary.rows,
           case .array(let types)? = source.metadata.values["tokenizer.ggml.token_type"], types.count == tokens.count {
            var (t, y) = (tokens, types)
            let added = Dictionary(vocabulary.tokenizer.addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for id in tokens.count..<vocabulary.rows {
                t.append(.string(added[id]?.content ?? "[PAD\(id)]"))
                y.append(.int(added[id].map { $0.special ? 3 : 4 } ?? 5))
            }
            grown = (t, y)
        }
        for key in source.metadata.keys {
            guard let type = source.metadata.types[key], var value = source.metadata.values[key] else { continue }
            if key == "general.file_type" { value = .uint(fileType) }
            if key == "tokenizer.chat_template", let chatTemplate { value = .string(chatTemplate) }
            if let grown {
                if key == "tokenizer.ggml.tokens" { value = .array(grown.tokens) }
                if key == "tokenizer.ggml.token_type" { value = .array(grown.types) }
                if key == architecture + ".vocab_size" { value = .uint(UInt64(vocabulary.rows)) }
            }
            metadata.append(GGUFWriter.Entry(key, type, value))
        }
        if !source.metadata.keys.contains("general.file_type") { metadata.append(GGUFWriter.Entry("general.file_type", .uint32, .uint(fileType))) }
        if let chatTemplate, !source.metadata.keys.contains("tokenizer.chat_template") {
            metadata.append(GGUFWriter.Entry("tokenizer.chat_template", .string, .string(chatTemplate)))
        }
        return metadata
    }

    /// A parameter's values in llama.cpp's layout (its rule applied).
    static func laidOut(_ parameter: Tensor, _ rule: GGUFLayout.Rule) throws -> [Float] {
        let values = GradMode.disabled { parameter.contiguous() }.values
        return try GGUFLayout.toGGUF(values, rows: parameter.rank == 2 ? parameter.shape[0] : 1, columns: parameter.shape.last ?? 0, rule)
    }

    /// `values` in `type` (f32, f16 or bf16), handed over in slices.
    static func encode(_ values: [Float], as type: GGMLType, _ append: (UnsafeRawBufferPointer) throws -> Void) throws {
        if type == .f32 { return try values.withUnsafeBytes { try append($0) } }
        try values.withUnsafeBufferPointer { try ExportDType.encodeHalf($0.baseAddress!, count: $0.count, bf16: type == .bf16, append) }
    }
}
