import CFactoryABI
import FactoryJSON

/// A model family component, created from one model's config.json.
public protocol ModelFamilyPlugin: PluginComponent {
    /// {"parameters": [...], "default_lora_targets": [...], "kv_cache": {...}}; see model_family.h.
    func describe() throws -> JSON
    /// The family's name for a checkpoint tensor (`format` "gguf" or "safetensors"); nil drops it;
    /// throw PluginError.notFound for a name the family does not know.
    func mapCheckpointName(format: String, name: String) throws -> String?
    /// Reads checkpoint tensors (Engine.checkpointTensor), transforms them, registers them (Engine.register).
    func loadWeights() throws
    /// ids [batch, seq] at `positions` → logits [batch, seq, vocab].
    func forward(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: HostTensor?, cache: OpaquePointer?) throws -> HostTensor
    /// Whether forward() also takes batch · seq positions, one row each (ABI 1.8 forward_rows: continuous
    /// batching), which needs every position-derived value per row and attention through the host. Default false.
    var rowPositions: Bool { get }
}

extension ModelFamilyPlugin {
    public var rowPositions: Bool { false }
}

enum ModelFamilyBinding {
    static func table(_ box: InstanceBox) throws -> UnsafePointer<factory_instance_t> {
        let rows = try component(of: box, as: (any ModelFamilyPlugin).self).rowPositions
        return box.makeTable(factory_model_family_t.self) { t in
            t.pointee.describe = { selfPtr, out, err in
                reportingErrors(err) {
                    let family = try component(selfPtr, as: (any ModelFamilyPlugin).self)
                    try write(try family.describe().serialized(), to: out)
                }
            }
            t.pointee.map_checkpoint_name = { selfPtr, format, name, out, err in
                reportingErrors(err) {
                    let family = try component(selfPtr, as: (any ModelFamilyPlugin).self)
                    guard let format, let name else { throw PluginError.invalidArgument("format or name is NULL") }
                    if let mapped = try family.mapCheckpointName(format: String(cString: format), name: String(cString: name)) {
                        try write(mapped, to: out)
                    }
                }
            }
            t.pointee.load_weights = { selfPtr, err in
                reportingErrors(err) { try component(selfPtr, as: (any ModelFamilyPlugin).self).loadWeights() }
            }
            t.pointee.forward = { selfPtr, ids, batch, seq, positions, mask, cache, logits, err in
                reportingErrors(err) {
                    let family = try component(selfPtr, as: (any ModelFamilyPlugin).self)
                    guard let ids, let positions, let logits, batch > 0, seq > 0 else { throw PluginError.invalidArgument("forward: NULL or empty input") }
                    let n = try checkedInt(UInt64(batch * seq), "ids"), s = try checkedInt(UInt64(seq), "seq")
                    let out = try family.forward(ids: (0..<n).map { Int(ids[$0]) }, batch: Int(batch), seq: s,
                                                 positions: (0..<s).map { Int(positions[$0]) }, mask: mask.map(HostTensor.init), cache: cache)
                    logits.pointee = out.handle
                }
            }
            guard rows else { return }
            t.pointee.forward_rows = { selfPtr, ids, batch, seq, positions, mask, cache, logits, err in
                reportingErrors(err) {
                    let family = try component(selfPtr, as: (any ModelFamilyPlugin).self)
                    guard let ids, let positions, let logits, batch > 0, seq > 0 else { throw PluginError.invalidArgument("forward_rows: NULL or empty input") }
                    let n = try checkedInt(UInt64(batch * seq), "ids")
                    let out = try family.forward(ids: (0..<n).map { Int(ids[$0]) }, batch: Int(batch), seq: Int(seq),
                                                 positions: (0..<n).map { Int(positions[$0]) }, mask: mask.map(HostTensor.init), cache: cache)
                    logits.pointee = out.handle
                }
            }
        }
    }
}
