import CFactoryABI
import FactoryEngine
import FactoryJSON

/// A model family plugin instance seen from the host: its description, weight
/// loading and forward pass.
public final class ModelFamilyInstance: ComponentInstance {
    private var family: UnsafePointer<factory_model_family_t> { UnsafeRawPointer(base).assumingMemoryBound(to: factory_model_family_t.self) }

    public override init(_ component: Component, config: JSON) throws {
        try super.init(component, config: config)
        _ = try table(factory_model_family_t.self)
    }

    /// The family's describe() JSON.
    public func describe() throws -> JSON {
        guard let f = family.pointee.describe else { throw missing("describe") }
        let out = ByteCollector()
        try out.withStream { stream in try call("describe") { err in f(family, stream, err) } }
        do { return try JSON.parse(bytes: out.bytes) } catch { throw missing("valid JSON from describe") }
    }

    /// describe(), checked against the contract (ModelFamilyDescription): an error naming the key otherwise.
    public func checkedDescription() throws -> ModelFamilyDescription {
        try ModelFamilyDescription(try describe(), family: component.name)
    }

    /// map_checkpoint_name: the family's parameter name for checkpoint tensor `name` in `format`, nil
    /// when the family drops it; an error (FACTORY_ERR_NOT_FOUND) for a name it does not know.
    public func mapCheckpointName(format: String, name: String) throws -> String? {
        guard let f = family.pointee.map_checkpoint_name else { throw missing("map_checkpoint_name") }
        let out = ByteCollector()
        try out.withStream { stream in try call("map_checkpoint_name") { err in f(family, format, name, stream, err) } }
        return out.bytes.isEmpty ? nil : String(decoding: out.bytes, as: UTF8.self)
    }

    /// Runs load_weights with `source` as the checkpoint.
    public func loadWeights(from source: CheckpointSource) throws {
        guard Int(base.pointee.struct_size) >= MemoryLayout<factory_model_family_t>.size, let f = family.pointee.load_weights else {
            throw missing("load_weights (a family built for ABI 1.0)")
        }
        ModelServices.checkpoint = source
        TensorHandles.push()
        defer {
            TensorHandles.pop()
            ModelServices.checkpoint = nil
        }
        try call("load_weights") { err in f(family, err) }
    }

    /// Logits [batch, seq, vocab] for `ids` at `positions`.
    public func forward(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: Tensor? = nil, cache: KVCache? = nil) throws -> Tensor {
        guard let f = family.pointee.forward else { throw missing("forward") }
        TensorHandles.push()
        defer { TensorHandles.pop() }
        let idValues = ids.map(Int64.init), posValues = positions.map(Int64.init)
        let maskHandle = mask.map { TensorHandles.scoped($0) }
        let cacheHandle = cache.map { OpaquePointer(Unmanaged.passUnretained($0).toOpaque()) }
        var logits: OpaquePointer?
        try idValues.withUnsafeBufferPointer { i in
            try posValues.withUnsafeBufferPointer { p in
                try call("forward") { err in f(family, i.baseAddress, Int64(batch), Int64(seq), p.baseAddress, maskHandle, cacheHandle, &logits, err) }
            }
        }
        return try TensorHandles.tensor(logits, "forward's logits")
    }

    private func missing(_ what: String) -> PluginCallError {
        PluginCallError(component: component.name, call: what, status: FACTORY_ERR_INTERNAL.rawValue, message: "the plugin provides no \(what)")
    }
}
