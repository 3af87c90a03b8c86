import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryTokenizers
import Foundation

/// A GGUF file as the checkpoint of load_weights. It remembers which tensors it handed out, so a
/// quantizer of the same format can take a registered weight's own blocks instead of re-packing it.
final class GGUFCheckpoint: CheckpointSource {
    let file: GGUFFile
    /// The tensors handed out, while they are alive (weak: a freed tensor's address may be reused).
    private var handedOut: [ObjectIdentifier: (tensor: WeakTensor, info: GGUFTensorInfo)] = [:]
    init(_ file: GGUFFile) { self.file = file }
    var format: String { "gguf" }
    func tensor(_ name: String) throws -> Tensor? {
        guard let info = file.info(name) else { return nil }
        let t = Tensor(shape: info.shape)
        // Rows are independent: unpack them straight into the tensor, split across threads.
        let rows = info.count / info.dims[0], out = t.data
        parallelFor(rows, grain: max(1, 65536 / info.dims[0])) { r in
            file.dequantizeRows(info, first: r.lowerBound, count: r.count, into: out + r.lowerBound * info.dims[0])
        }
        handedOut[ObjectIdentifier(t)] = (WeakTensor(t), info)
        return t
    }

    /// The GGUF type `t` is stored in ("q8_0"), when `t` is a tensor this checkpoint handed out.
    func fileFormat(of t: Tensor) -> String? {
        guard let entry = handedOut[ObjectIdentifier(t)], entry.tensor.value === t else { return nil }
        return entry.info.type.description.lowercased()
    }

    /// The file's own bytes of `t` when `t` is exactly a tensor this checkpoint handed out (not a
    /// reordered copy of it) and is stored in `format` ("q4_1"); valid while the file is open.
    func ownBlocks(of t: Tensor, format: String) -> UnsafeRawBufferPointer? {
        guard let entry = handedOut[ObjectIdentifier(t)], entry.tensor.value === t,
              entry.info.type.description.lowercased() == format, entry.info.shape == t.shape else { return nil }
        return file.bytes(entry.info)
    }
}

/// A weak reference to a tensor.
struct WeakTensor {
    weak var value: Tensor?
    init(_ value: Tensor) { self.value = value }
}

/// A Hugging Face directory's safetensors as the checkpoint of load_weights.
final class HFCheckpoint: CheckpointSource {
    let checkpoint: SafetensorsCheckpoint
    init(_ checkpoint: SafetensorsCheckpoint) { self.checkpoint = checkpoint }
    var format: String { "safetensors" }
    func tensor(_ name: String) throws -> Tensor? {
        guard let info = checkpoint.info(name) else { return nil }
        return Tensor(shape: info.shape, values: try checkpoint.float32(name))
    }
}

/// A model ready to run: its family plugin with weights loaded, its tokenizer
/// and its own chat template text.
public final class LoadedModel {
    public let location: LocatedModel
    public let family: ModelFamilyInstance
    public let tokenizer: Tokenizer
    public let description: JSON
    /// The model's Jinja chat template (GGUF tokenizer.chat_template / tokenizer_config.json), if any.
    public let chatTemplate: String?
    /// This model's parameters (what its family registered in load_weights).
    public let parameters: ParameterStore
    /// Token ids that end generation: GGUF eos (and eot) ids, or generation_config.json's and
    /// config.json's eos_token_id (an id or a list).
    /// What a quantizer packed while loading (nil: a dense model).
    public var packReport: QuantizedBase.Report?
    public private(set) var stopIDs: Set<Int> = []
    /// What keepOwnBlocks did, when it did something (a line for stderr).
    public var fileBlocksReport: String?

    public var vocabularySize: Int { Int(description["vocab_size"]?.intValue ?? 0) }
    /// The tokens add_tokens / add_special_tokens added to the file's tokenizer (VocabularyChange).
    public internal(set) var addedVocabulary: [String] = []
    public var layers: Int { Int(description["kv_cache"]?["layers"]?.intValue ?? 0) }
    /// The model's context length (0 when the family does not say).
    public var contextLength: Int { Int(description["context_length"]?.intValue ?? 0) }

    /// Locates, reads and loads `request` with the model family registered for its architecture.
    public static func load(_ request: String, plugins: PluginSet, quantizer: QuantizerInstance? = nil,
                            ropeScaling: RopeScalingOverride? = nil, fileBlocks: Bool = false, vocabulary: VocabularyChange? = nil) throws -> LoadedModel {
        try load(ModelLocator.locate(request), plugins: plugins, quantizer: quantizer, ropeScaling: ropeScaling, fileBlocks: fileBlocks, vocabulary: vocabulary)
    }

    /// Loads a model whose files were already located. With a `quantizer` its linear weights are
    /// packed one by one as the family registers them (see QuantizedBase); `packReport` says what. With
    /// `ropeScaling` (LLaMA-Factory's key) the config the family reads is rewritten first, with a line on stderr.
    /// `fileBlocks` (inference with the base as it is: no adapter): a GGUF's linear weights and LM head — with a
    /// quantizer, what it left fp32 (the head) — also multiply from the file's own blocks when decoding
    /// (QuantizedBase.keepOwnBlocks).
    /// `vocabulary`: tokens added to the tokenizer and the embeddings grown for them (VocabularyChange).
    public static func load(_ location: LocatedModel, plugins: PluginSet, quantizer: QuantizerInstance? = nil,
                            ropeScaling: RopeScalingOverride? = nil, fileBlocks: Bool = false, vocabulary: VocabularyChange? = nil) throws -> LoadedModel {
        let component = try plugins.registry(.modelFamily).family(forModelType: location.architecture)
        let store = ParameterStore()
        let packing = quantizer.map { QuantizedBase.Packing($0) }
        defer { packing?.finish(store) }
        let previous = ParameterStore.active
        ParameterStore.active = store
        defer { ParameterStore.active = previous }
        switch location.format {
        case .gguf:
            let file = try GGUFFile(path: location.path)
            var metadata = ggufJSON(file.metadata)
            if let ropeScaling {
                let line: String
                (metadata, line) = try ropeScaling.apply(gguf: metadata, file: location.path)
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let arch = location.architecture
            let grow = try VocabularyGrowth(vocabulary, tokenizer: try Tokenizer.load(gguf: file.metadata, file: location.path), quantized: quantizer != nil) { rows in
                var m = metadata
                if let rows { m["\(arch).vocab_size"] = .int(Int64(rows)) }
                return try ModelFamilyInstance(component, config: .object(JSONObject([("gguf", .object(m))])))
            }
            let (family, tokenizer, addedVocabulary) = (grow.family, grow.tokenizer, grow.added)
            _ = try family.checkedDescription()  // a broken contract is refused here, naming the key
            let checkpoint = GGUFCheckpoint(file)
            try packing?.start(store, description: try family.describe(), fileBlocks: checkpoint.ownBlocks)
            try family.loadWeights(from: try grow.checkpoint(checkpoint, names: file.tensors.map(\.name)))
            try verifyCoverage(family, names: file.tensors.map(\.name), format: "gguf", store: store, file: location.path)
            let model = LoadedModel(location: location, family: family, tokenizer: tokenizer, description: try family.describe(),
                                    chatTemplate: file.metadata.string("tokenizer.chat_template"), parameters: store)
            model.stopIDs = Set(["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"].compactMap { file.metadata.int($0) })
            model.packReport = packing?.report
            model.addedVocabulary = addedVocabulary
            if fileBlocks {  // with a quantizer: what it left fp32 (the LM head)
                model.fileBlocksReport = QuantizedBase.keepOwnBlocks(store, description: model.description, checkpoint: checkpoint, family: family,
                                                                      plugins: plugins)
            }
            return model
        case .huggingface:
            let dir = location.path
            var config: JSON
            do { config = try JSON.parse(bytes: try FileSystem.read(dir + "/config.json")) } catch let e as JSONParseError {
                throw ConfigProblem("\(dir)/config.json: not valid JSON: \(e)")
            }
            if let ropeScaling, let object = config.objectValue {
                let (rewritten, line) = try ropeScaling.apply(hf: object, file: dir + "/config.json")
                config = .object(rewritten)
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let grow = try VocabularyGrowth(vocabulary, tokenizer: try Tokenizer.load(tokenizerJSON: dir + "/tokenizer.json"), quantized: quantizer != nil) { rows in
                var c = config
                if let rows, var object = c.objectValue { object["vocab_size"] = .int(Int64(rows)); c = .object(object) }
                return try ModelFamilyInstance(component, config: .object(JSONObject([("hf_config", c)])))
            }
            let (family, tokenizer, addedVocabulary) = (grow.family, grow.tokenizer, grow.added)
            _ = try family.checkedDescription()
            try packing?.start(store, description: try family.describe())
            let safetensors = try SafetensorsCheckpoint(directory: dir)
            try family.loadWeights(from: try grow.checkpoint(HFCheckpoint(safetensors), names: safetensors.names))
            try verifyCoverage(family, names: safetensors.names, format: "safetensors", store: store, file: dir)
            let model = LoadedModel(location: location, family: family, tokenizer: tokenizer, description: try family.describe(), chatTemplate: hfChatTemplate(dir),
                                    parameters: store)
            var stops = Set<Int>()
            for file in ["generation_config.json", "config.json"] {
                guard let data = FileManager.default.contents(atPath: dir + "/" + file), let json = try? JSON.parse(bytes: [UInt8](data)) else { continue }
                switch json["eos_token_id"] {
                case .int(let id)?: stops.insert(Int(id))
                case .array(let ids)?: stops.formUnion(ids.compactMap { $0.intValue.map(Int.init) })
                default: break
                }
            }
            model.stopIDs = stops
            model.packReport = packing?.report
            model.addedVocabulary = addedVocabulary
            return model
        }
    }

    /// Nothing in the checkpoint is left behind: each tensor is one the family loaded, or one it drops on
    /// purpose (map_checkpoint_name writes nothing: rotary caches); a tensor it does not know refuses the
    /// model (a checkpoint of another architecture, or with parts this family has no place for).
    static func verifyCoverage(_ family: ModelFamilyInstance, names: [String], format: String, store: ParameterStore, file: String) throws {
        for name in names {
            let mapped: String?
            do { mapped = try family.mapCheckpointName(format: format, name: name) } catch let e as PluginCallError {
                throw ConfigProblem("\(file): tensor '\(name)' has no place in a \(family.component.name) model (\(e.message))")
            }
            if let mapped, store[mapped] == nil, store.packed[mapped] == nil {
                throw ConfigProblem("\(file): tensor '\(name)' (\(mapped)) was not loaded by the \(family.component.name) family")
            }
        }
    }

    /// The tokenizer of `request` and its own chat template, without loading weights.
    public static func tokenizerAndTemplate(for request: String) throws -> (Tokenizer, String?) {
        try tokenizerAndTemplate(at: try ModelLocator.locate(request))
    }

    /// The same for a model already located.
    public static func tokenizerAndTemplate(at location: LocatedModel) throws -> (Tokenizer, String?) {
        switch location.format {
        case .gguf:
            let metadata = try GGUFMetadata.read(file: location.path)
            return (try Tokenizer.load(gguf: metadata, file: location.path), metadata.string("tokenizer.chat_template"))
        case .huggingface:
            return (try Tokenizer.load(tokenizerJSON: location.path + "/tokenizer.json"), hfChatTemplate(location.path))
        }
    }

    /// Only the tokenizer of `request` (no weights).
    public static func tokenizer(for request: String) throws -> Tokenizer {
        try tokenizerAndTemplate(for: request).0
    }

    /// A Hugging Face directory's chat template: tokenizer_config.json's, else chat_template.jinja.
    static func hfChatTemplate(_ dir: String) -> String? {
        if let data = FileManager.default.contents(atPath: dir + "/tokenizer_config.json"),
           let tc = try? JSON.parse(bytes: [UInt8](data)), let template = tc["chat_template"]?.stringValue {
            return template
        }
        return try? String(contentsOfFile: dir + "/chat_template.jinja", encoding: .utf8)
    }

    init(location: LocatedModel, family: ModelFamilyInstance, tokenizer: Tokenizer, description: JSON, chatTemplate: String?, parameters: ParameterStore) {
        self.parameters = parameters
        self.location = location
        self.family = family
        self.tokenizer = tokenizer
        self.description = description
        self.chatTemplate = chatTemplate
    }

    /// The same model over a parameter store that shares every base tensor (not copies), for an adapter that
    /// must not touch the others: several adapters served over one base (api_adapters).
    public func sharingBase() -> LoadedModel {
        let twin = LoadedModel(location: location, family: family, tokenizer: tokenizer, description: description, chatTemplate: chatTemplate,
                               parameters: parameters.sharing())
        (twin.stopIDs, twin.addedVocabulary, twin.packReport, twin.fileBlocksReport) = (stopIDs, addedVocabulary, packReport, fileBlocksReport)
        return twin
    }

    /// The final logit soft cap the family declared (describe's `final_logit_softcapping`; 0: none).
    /// The family returns its LM head's output as is; the host caps it (see `forward`) or fuses the cap into the loss.
    public var finalLogitSoftcap: Float { Float(description["final_logit_softcapping"]?.doubleValue ?? 0) }

    /// The family's forward with this model's parameters active: logits, capped by `finalLogitSoftcap`.
    /// `headFused`: the LM head call was replaced by the fused loss (training), whose result is returned as is.
    public func forward(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: Tensor? = nil, cache: KeyValueStore? = nil,
                        headFused: Bool = false) throws -> Tensor {
        try withParameters(capped: !headFused) {
            try family.forward(ids: ids, batch: batch, seq: seq, positions: positions, mask: mask, cache: cache)
        }
    }

    /// One decoding step of several sequences in `cache`'s rows (continuous batching): `ids` [rows, seq],
    /// each row fed at its own end and attending over its own keys only. Logits [rows, seq, vocab]. Needs
    /// a family with forward_rows (ABI 1.8).
    public func decodeRows(ids: [Int], seq: Int, cache: BatchedKVCache) throws -> Tensor {
        try withParameters(capped: true) { try family.decodeRows(ids: ids, seq: seq, cache: cache) }
    }

    /// `pass` with this model's parameters active; its logits capped by `finalLogitSoftcap` when `capped`.
    private func withParameters(capped: Bool, _ pass: () throws -> Tensor) rethrows -> Tensor {
        let previous = ParameterStore.active
        ParameterStore.active = parameters
        defer { ParameterStore.active = previous }
        let out = try pass()
        let cap = finalLogitSoftcap
        return cap > 0 && capped ? softcap(out, cap: cap) : out
    }

    /// Logits [seq, vocab] of one sequence (no cache), positions 0..<seq.
    public func logits(_ ids: [Int]) throws -> Tensor {
        let out = try GradMode.disabled { try forward(ids: ids, batch: 1, seq: ids.count, positions: Array(0..<ids.count)) }
        return out.reshaped([ids.count, out.shape[out.rank - 1]])
    }

    /// Parameters counted once each (a tied LM head shares the embeddings' storage).
    public var parameterCount: Int {
        var distinct = Set<ObjectIdentifier>(), total = 0
        for name in parameters.names {
            if let t = parameters[name], distinct.insert(ObjectIdentifier(t.storage)).inserted { total += t.count }
        }
        return total
    }

    /// The log-probability of each next token of `ids` (ids.count − 1 values) and their mean negative,
    /// the loss (perplexity = exp(loss)): what `factory score` prints.
    public func score(_ ids: [Int]) throws -> (logprobs: [Double], loss: Double) {
        try score(ids, logits: try logits(ids))
    }

    /// The same from logits already computed ([ids.count, vocab]).
    public func score(_ ids: [Int], logits out: Tensor) throws -> (logprobs: [Double], loss: Double) {
        let V = out.shape[1]
        let lp = GradMode.disabled { logSoftmax(out) }.values
        let logprobs = (0..<(ids.count - 1)).map { Double(lp[$0 * V + ids[$0 + 1]]) }
        return (logprobs, -logprobs.reduce(0, +) / Double(max(logprobs.count, 1)))
    }

    /// GGUF metadata as JSON for a family's create(): arrays longer than 1024 are
    /// replaced by their length under "<key>.count".
    static func ggufJSON(_ m: GGUFMetadata) -> JSONObject {
        var o = JSONObject()
        func convert(_ v: GGUFValue) -> JSON {
            switch v {
            case .uint(let u): return u <= UInt64(Int64.max) ? .int(Int64(u)) : .double(Double(u))
            case .int(let i): return .int(i)
            case .float(let f): return .double(f)
            case .bool(let b): return .bool(b)
            case .string(let s): return .string(s)
            case .array(let a): return .array(a.map(convert))
            }
        }
        for key in m.keys {
            guard let v = m.values[key] else { continue }
            if case .array(let a) = v, a.count > 1024 {
                o[key + ".count"] = .int(Int64(a.count))
            } else {
                o[key] = convert(v)
            }
        }
        return o
    }
}
