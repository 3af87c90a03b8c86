// LoRA (Hu et al. 2021) as PEFT implements it: every targeted linear W gains A [r, in]
// (Kaiming-uniform, i.e. U(-1/sqrt(in), 1/sqrt(in))) and B [out, r] (zeros), and computes
//   y = W x + (B (A dropout(x))) * scaling,   scaling = lora_alpha / r   (rsLoRA: / sqrt(r)).
// DoRA (use_dora, Liu et al. 2024, as PEFT computes it): a magnitude m [out] (initialised to the row
// norms of W) rescales the adapted weight by m / ‖W + scaling·BA‖ (row norms, held constant in
// backward):  y = W x + (m/‖·‖ − 1) ⊙ W x' + (m/‖·‖) ⊙ (B (A x')) · scaling,  x' = dropout(x), bias kept.
// The plugin never sees the model: it plans from the family's parameter table and computes its
// linear with host ops, so the host's tape differentiates it. Saved tensors use PEFT's names
// ("base_model.model.<module>.lora_A.weight"), so PeftModel.from_pretrained loads them.
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
    let scaling: Float
    let dora: Bool

    var info: FinetuningMethodInfo { FinetuningMethodInfo(trainsBase: !additional.isEmpty, quantizedBaseOK: true, adapterFormat: "peft") }

    init(config: ConfigReader) throws {
        // A saved adapter (applied, or trained further) brings PEFT's adapter_config.json: its settings win
        if let saved = config.value("adapter_config"), saved != .null { config.override(with: try LoRAMethod.keys(fromPEFT: saved)) }
        rank = try config.int("lora_rank", default: 8)
        guard rank >= 1 else { throw PluginError.invalidArgument("lora: lora_rank must be at least 1, got \(rank)") }
        alpha = try config.double("lora_alpha", default: Double(rank * 2))  // LLaMA-Factory's default: 2 x rank
        dropout = Float(try config.double("lora_dropout", default: 0))
        guard dropout >= 0 && dropout < 1 else { throw PluginError.invalidArgument("lora: lora_dropout must be in [0, 1), got \(dropout)") }
        targets = try LoRAMethod.list(config, "lora_target") ?? ["all"]
        additional = try LoRAMethod.list(config, "additional_target") ?? []
        rslora = try config.bool("use_rslora", default: false)
        dora = try config.bool("use_dora", default: false)
        loraplusRatio = try config.double("loraplus_lr_ratio", default: 1)
        scaling = Float(rslora ? alpha / Double(rank).squareRoot() : alpha / Double(rank))
        _ = try config.int("seed", default: 42)  // dropout masks come from the host's training seed, itself from the run's seed
        config.acceptShared()  // the run's whole fine-tuning section arrives; other methods' keys are not errors
    }

    /// PEFT's adapter_config.json as this method's keys (LLaMA-Factory's names).
    static func keys(fromPEFT c: JSON) throws -> JSONObject {
        guard c["peft_type"]?.stringValue == "LORA" else {
            throw PluginError.unsupported("lora: adapter_config peft_type '\(c["peft_type"]?.stringValue ?? "none")' is not LORA")
        }
        var o = JSONObject()
        for (peft, key) in [("r", "lora_rank"), ("lora_alpha", "lora_alpha"), ("lora_dropout", "lora_dropout"), ("target_modules", "lora_target"),
                            ("modules_to_save", "additional_target"), ("use_rslora", "use_rslora"), ("use_dora", "use_dora")] {
            if let v = c[peft], v != .null { o[key] = v }
        }
        return o
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

    /// PEFT's rule: a module matches a target when its name is the target or ends with "." + target.
    static func matches(_ module: String, _ target: String) -> Bool {
        module == target || module.hasSuffix("." + target)
    }

    func plan(model: JSON) throws -> JSON {
        let parameters = model["parameters"]?.arrayValue ?? []
        var linears: [(name: String, out: Int, in: Int)] = []
        for p in parameters where p["linear"]?.boolValue == true {
            guard let name = p["name"]?.stringValue, name.hasSuffix(".weight"), let shape = p["shape"]?.arrayValue?.compactMap(\.intValue),
                  shape.count == 2 else { continue }
            linears.append((String(name.dropLast(".weight".count)), Int(shape[0]), Int(shape[1])))
        }
        let all = targets.count == 1 && targets[0] == "all"
        let chosen = linears.filter { l in
            all ? !l.name.hasSuffix("lm_head") : targets.contains { LoRAMethod.matches(l.name, $0) }
        }
        guard !chosen.isEmpty else {
            let names = Set(linears.map { String($0.name.split(separator: ".").last ?? "") }).sorted().joined(separator: ", ")
            throw PluginError.invalidArgument("lora: lora_target \(targets.joined(separator: ",")) matches no linear layer of this model (its linears: \(names))")
        }
        var added: [JSON] = []
        for l in chosen {
            added.append(.object(JSONObject([
                ("name", .string(l.name + ".lora_A.weight")), ("shape", [.int(Int64(rank)), .int(Int64(l.in))]),
                ("init", "kaiming_uniform"), ("lr_scale", 1.0), ("saved_as", .string("base_model.model." + l.name + ".lora_A.weight")),
            ])))
            added.append(.object(JSONObject([
                ("name", .string(l.name + ".lora_B.weight")), ("shape", [.int(Int64(l.out)), .int(Int64(rank))]),
                ("init", "zeros"), ("lr_scale", .double(loraplusRatio)), ("saved_as", .string("base_model.model." + l.name + ".lora_B.weight")),
            ])))
            if dora {
                added.append(.object(JSONObject([
                    ("name", .string(l.name + ".lora_magnitude_vector")), ("shape", [.int(Int64(l.out))]),
                    ("init", .string("row_norm:" + l.name + ".weight")), ("lr_scale", 1.0),
                    ("saved_as", .string("base_model.model." + l.name + ".lora_magnitude_vector")),
                ])))
            }
        }
        let trainable = parameters.compactMap { $0["name"]?.stringValue }.filter { name in
            additional.contains { LoRAMethod.matches(String(name.dropLast(name.hasSuffix(".weight") ? 7 : (name.hasSuffix(".bias") ? 5 : 0))), $0) }
        }
        let targetModules = all ? Set(chosen.map { String($0.name.split(separator: ".").last ?? "") }).sorted() : targets
        let config = JSONObject([
            ("peft_type", "LORA"), ("task_type", "CAUSAL_LM"), ("r", .int(Int64(rank))), ("lora_alpha", .double(alpha)),
            ("lora_dropout", .double(Double(dropout))), ("target_modules", .array(targetModules.map { .string($0) })), ("bias", "none"),
            ("use_rslora", .bool(rslora)), ("use_dora", .bool(dora)), ("fan_in_fan_out", false), ("inference_mode", true),
            ("init_lora_weights", true), ("modules_to_save", additional.isEmpty ? .null : .array(additional.map { .string($0) })),
            ("layers_to_transform", .null), ("layers_pattern", .null), ("rank_pattern", .object(JSONObject())),
            ("alpha_pattern", .object(JSONObject())), ("revision", .null),
        ])
        return .object(JSONObject([
            // PEFT saves a modules_to_save tensor as "base_model.model.<name>"
            ("trainable", .array(trainable.map { .object(JSONObject([("name", .string($0)), ("saved_as", .string("base_model.model." + $0))])) })),
            ("added", .array(added)),
            ("adapted_linears", .array(chosen.map { .string($0.name) })), ("adapter_config", .object(config)),
        ]))
    }

    func linear(_ name: String, _ x: HostTensor) throws -> HostTensor {
        let base = try Engine.baseLinear(name, x)
        guard let a = try Engine.parameter(name + ".lora_A.weight"), let b = try Engine.parameter(name + ".lora_B.weight") else {
            throw PluginError.notFound("lora: the adapter tensors of '\(name)' are not registered")
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
        return try doraLinear(name, base: base, input: input, dropped: dropped, update: update, a: a, b: b)
    }

    /// DoRA's output from the plain LoRA pieces: base + (m/‖W + s·BA‖ − 1) ⊙ W x' + (m/‖·‖) ⊙ update.
    func doraLinear(_ name: String, base: HostTensor, input: HostTensor, dropped: Bool, update: HostTensor,
                    a: HostTensor, b: HostTensor) throws -> HostTensor {
        guard let w = try Engine.parameter(name + ".weight"), let m = try Engine.parameter(name + ".lora_magnitude_vector") else {
            throw PluginError.notFound("lora (DoRA): '\(name).weight' or its magnitude vector is not registered")
        }
        let bias = try Engine.parameter(name + ".bias")
        // ‖W + s·BA‖ per output row, a constant for backward (PEFT detaches it)
        let norms = try Engine.withoutGrad { () throws -> HostTensor in
            let combined = try Engine.values(try Engine.add(w, try Engine.scale(try Engine.matmul(b, a), scaling)))
            let shape = try Engine.shape(w)
            let (rows, cols) = (shape[0], shape[1])
            return try Engine.new([rows], (0..<rows).map { r in
                var sum: Float = 0
                for c in 0..<cols { sum += combined[r * cols + c] * combined[r * cols + c] }
                return sum.squareRoot()
            })
        }
        let ratio = try Engine.div(m, norms)
        // W x' without bias: the base output less its bias, or (with dropout) W applied to x' itself
        let plain = dropped ? try Engine.linear(input, weight: w) : (try bias.map { try Engine.sub(base, $0) } ?? base)
        return try Engine.add(try Engine.add(base, try Engine.mul(try Engine.addScalar(ratio, -1), plain)), try Engine.mul(ratio, update))
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
