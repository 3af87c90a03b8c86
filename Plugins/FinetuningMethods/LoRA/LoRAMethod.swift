// LoRA (Hu et al. 2021) as PEFT implements it: every targeted linear W gains A [r, in]
// (Kaiming-uniform, i.e. U(-1/sqrt(in), 1/sqrt(in))) and B [out, r] (zeros), and computes
//   y = W x + (B (A dropout(x))) * scaling,   scaling = lora_alpha / r   (rsLoRA: / sqrt(r)).
// DoRA (use_dora, Liu et al. 2024, as PEFT computes it): a magnitude m [out] (initialised to the row
// norms of W) rescales the adapted weight by m / ‖W + scaling·BA‖ (row norms, held constant in
// backward):  y = W x + (m/‖·‖ − 1) ⊙ W x' + (m/‖·‖) ⊙ (B (A x')) · scaling,  x' = dropout(x), bias kept.
// The plugin never sees the model: it plans from the family's parameter table and computes its
// linear with host ops, so the host's tape differentiates it. Saved tensors use PEFT's names
// ("base_model.model.<module>.lora_A.weight"), so PeftModel.from_pretrained loads them. Which modules
// are adapted or saved whole, and their rank and alpha, follow PEFT's rules (PEFTModuleRules.swift);
// a saved adapter_config.json is read field by field (PEFTAdapterConfig.swift).
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

/// The `lora` fine-tuning method.
final class LoRAMethod: FinetuningMethodPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.finetuning.lora", name: "lora", version: "1.0.0", vendor: "Factory",
        summary: "LoRA adapters (PEFT-compatible): lora_rank, lora_alpha, lora_dropout, lora_target, use_rslora, use_dora, loraplus_lr_ratio",
        features: ["peft_type:LORA"])

    let rank: Int
    let alpha: Double
    let dropout: Float
    let targets: [String]
    let additional: [String]
    let rslora: Bool
    let loraplusRatio: Double
    let dora: Bool
    /// Which modules are adapted, saved whole, and at which rank and alpha (PEFT's rules).
    let rules: PEFTModuleRules
    /// PEFT's bias: "none", "all" (every bias of the model trains) or "lora_only" (those of adapted linears).
    let bias: String
    /// PEFT's ensure_weight_tying: a saved embedding or head stays tied to its twin instead of getting its own copy.
    let ensureWeightTying: Bool
    /// The adapter_config values that select modules, written back as they were given.
    let savedSelection: JSONObject
    /// The scaling (alpha / r, or / sqrt(r) with rsLoRA) of each adapted linear, fixed by plan().
    private var scalings: [String: Float] = [:]

    var info: FinetuningMethodInfo {
        FinetuningMethodInfo(trainsBase: !additional.isEmpty || bias != "none", quantizedBaseOK: true, adapterFormat: "peft")
    }

    init(config: ConfigReader) throws {
        // A saved adapter (applied, or trained further) brings PEFT's adapter_config.json: its settings win
        if let saved = config.value("adapter_config"), saved != .null { config.override(with: try PEFTAdapterConfig.keys(saved)) }
        rank = try config.int("lora_rank", default: 8)
        guard rank >= 1 else { throw PluginError.invalidArgument("lora: lora_rank must be at least 1, got \(rank)") }
        alpha = try config.double("lora_alpha", default: Double(rank * 2))  // LLaMA-Factory's default: 2 x rank
        dropout = Float(try config.double("lora_dropout", default: 0))
        guard dropout >= 0 && dropout < 1 else { throw PluginError.invalidArgument("lora: lora_dropout must be in [0, 1), got \(dropout)") }
        additional = try LoRAMethod.list(config, "additional_target") ?? []
        rslora = try config.bool("use_rslora", default: false)
        dora = try config.bool("use_dora", default: false)
        loraplusRatio = try config.double("loraplus_lr_ratio", default: 1)
        _ = try config.int("seed", default: 42)  // dropout masks come from the host's training seed, itself from the run's seed
        // target_modules of a PEFT adapter (a list, a regex or "all-linear"), else LLaMA-Factory's lora_target ("all": every linear but the head)
        let selection: PEFTModuleRules.Selection
        if let peftTargets = try PEFTModuleRules.Selection(config.value("peft.target_modules"), key: "target_modules") {
            selection = peftTargets
            if case .names(let names) = peftTargets { targets = names } else { targets = [] }
        } else {
            targets = try LoRAMethod.list(config, "lora_target") ?? ["all"]
            selection = targets == ["all"] ? .allLinear : .names(targets)
        }
        rules = try PEFTModuleRules(targets: selection, modulesToSave: additional, config: config)
        bias = try config.string("peft.bias", default: "none")
        guard ["none", "all", "lora_only"].contains(bias) else {
            throw PluginError.invalidArgument("lora: bias must be none, all or lora_only (PEFT's values), got '\(bias)'")
        }
        ensureWeightTying = try config.bool("peft.ensure_weight_tying", default: false)
        if try config.bool("peft.fan_in_fan_out", default: false) {
            Host.log(FACTORY_LOG_WARNING, "fan_in_fan_out: true describes Conv1D weights stored [in, out]; this model's linears are [out, in], "
                     + "so it is read as false, as PEFT does for nn.Linear", source: LoRAMethod.descriptor.id)
        }
        var selected = JSONObject()
        for key in ["target_modules", "exclude_modules", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern"] {
            if let v = config.value("peft." + key), v != .null { selected[key] = v }
        }
        savedSelection = selected
        config.acceptShared()  // the run's whole fine-tuning section arrives; other methods' keys are not errors
    }

    static func list(_ config: ConfigReader, _ key: String) throws -> [String]? {
        switch config.value(key) {
        case nil, .null?: return nil
        case .string(let s)?: return s.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        case .array(let items)?: return items.compactMap(\.stringValue)
        case let v?: throw PluginError.invalidArgument("lora: \(key) must be a list or a comma-separated string, got \(v.serialized())")
        }
    }

    /// FNV-1a of a module name: per-layer independent dropout masks from one micro-batch seed.
    static func hash(_ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    func plan(model: JSON) throws -> JSON {
        let parameters = model["parameters"]?.arrayValue ?? []
        var linears: [(name: String, out: Int, in: Int)] = []
        for p in parameters where p["linear"]?.boolValue == true {
            guard let name = p["name"]?.stringValue, name.hasSuffix(".weight"), let shape = p["shape"]?.arrayValue?.compactMap(\.intValue),
                  shape.count == 2 else { continue }
            linears.append((String(name.dropLast(".weight".count)), Int(shape[0]), Int(shape[1])))
        }
        let chosen = linears.filter { rules.adapts($0.name) }
        guard !chosen.isEmpty else {
            let names = Set(linears.map { String($0.name.split(separator: ".").last ?? "") }).sorted().joined(separator: ", ")
            let asked = targets.isEmpty ? "target_modules" : "lora_target \(targets.joined(separator: ","))"
            throw PluginError.invalidArgument("lora: \(asked) matches no linear layer of this model (its linears: \(names))")
        }
        var added: [JSON] = []
        for l in chosen {
            let r = rules.rank(l.name, default: rank), a = rules.alpha(l.name, default: alpha)
            guard r >= 1 else { throw PluginError.invalidArgument("lora: rank_pattern gives \(l.name) rank \(r); it must be at least 1") }
            scalings[l.name] = Float(rslora ? a / Double(r).squareRoot() : a / Double(r))
            let peft = "base_model.model." + l.name
            added.append(.object(JSONObject([
                ("name", .string(l.name + ".lora_A.weight")), ("shape", [.int(Int64(r)), .int(Int64(l.in))]),
                ("init", "kaiming_uniform"), ("lr_scale", 1.0), ("saved_as", .string(peft + ".lora_A.weight")),
            ])))
            added.append(.object(JSONObject([
                ("name", .string(l.name + ".lora_B.weight")), ("shape", [.int(Int64(l.out)), .int(Int64(r))]),
                ("init", "zeros"), ("lr_scale", .double(loraplusRatio)), ("saved_as", .string(peft + ".lora_B.weight")),
            ])))
            if dora {
                added.append(.object(JSONObject([
                    ("name", .string(l.name + ".lora_magnitude_vector")), ("shape", [.int(Int64(l.out))]),
                    ("init", .string("row_norm:" + l.name + ".weight")), ("lr_scale", 1.0),
                    ("saved_as", .string(peft + ".lora_magnitude_vector")),
                ])))
            }
        }
        let trainable = try trainableEntries(parameters.compactMap { $0["name"]?.stringValue }, adapted: Set(chosen.map(\.name)),
                                             tied: model["hf_config"]?["tie_word_embeddings"]?.boolValue == true)
        let targetModules: JSON = savedSelection["target_modules"]
            ?? .array((targets == ["all"] ? Set(chosen.map { String($0.name.split(separator: ".").last ?? "") }).sorted() : targets).map { .string($0) })
        var config = JSONObject([
            ("peft_type", "LORA"), ("task_type", "CAUSAL_LM"), ("r", .int(Int64(rank))), ("lora_alpha", .double(alpha)),
            ("lora_dropout", .double(Double(dropout))), ("target_modules", targetModules), ("bias", .string(bias)),
            ("use_rslora", .bool(rslora)), ("use_dora", .bool(dora)), ("fan_in_fan_out", false), ("inference_mode", true),
            ("init_lora_weights", true), ("modules_to_save", additional.isEmpty ? .null : .array(additional.map { .string($0) })),
            ("exclude_modules", .null), ("layers_to_transform", .null), ("layers_pattern", .null), ("rank_pattern", .object(JSONObject())),
            ("alpha_pattern", .object(JSONObject())), ("ensure_weight_tying", .bool(ensureWeightTying)), ("revision", .null),
        ])
        for (key, value) in savedSelection.pairs { config[key] = value }
        return .object(JSONObject([
            ("trainable", .array(trainable)), ("added", .array(added)),
            ("adapted_linears", .array(chosen.map { .string($0.name) })), ("adapter_config", .object(config)),
        ]))
    }

    func linear(_ name: String, _ x: HostTensor) throws -> HostTensor {
        let base = try Engine.baseLinear(name, x)
        guard let scaling = scalings[name], let a = try Engine.parameter(name + ".lora_A.weight"),
              let b = try Engine.parameter(name + ".lora_B.weight") else {
            throw PluginError.notFound("lora: '\(name)' was not planned or its adapter tensors are not registered")
        }
        var input = x
        // dropout only in training, with a mask fixed by (micro-batch, layer): the same when a
        // checkpointed layer runs again in backward, and when a run resumes
        let trainingSeed = dropout > 0 ? Engine.trainingSeed : nil
        let dropped = trainingSeed != nil
        if let trainingSeed { input = try Engine.dropout(x, dropout, seed: trainingSeed ^ LoRAMethod.hash(name)) }
        // scaling applied to the rank-r intermediate (x·Aᵀ·s, then ·Bᵀ): the same product as PEFT's
        // B(A(x))·s up to rounding, without a pass over the full-width output in forward and backward
        let update = try Engine.linear(try Engine.scale(try Engine.linear(input, weight: a), scaling), weight: b)
        guard dora else { return try Engine.add(base, update) }
        return try doraLinear(name, base: base, input: input, dropped: dropped, update: update, a: a, b: b, scaling: scaling)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(finetuningMethods: [LoRAMethod.self]) }
}
