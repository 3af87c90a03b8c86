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

    /// Logits [batch, seq, vocab] for `ids` at `positions` (seq entries, shared by the batch).
    public func forward(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: Tensor? = nil, cache: KeyValueStore? = nil) throws -> Tensor {
        guard let f = family.pointee.forward else { throw missing("forward") }
        return try run("forward", f, ids: ids, batch: batch, seq: seq, positions: positions, mask: mask, cache: cache)
    }

    /// Whether the family takes a position per batch row (ABI 1.8 forward_rows): continuous batching.
    public var forwardsRows: Bool {
        let end = MemoryLayout<factory_model_family_t>.offset(of: \.forward_rows)! + MemoryLayout<UnsafeRawPointer?>.size
        return Int(base.pointee.struct_size) >= end && family.pointee.forward_rows != nil
    }

    /// Logits [batch, seq, vocab] for `ids` with row b at positions[b·seq ..< (b+1)·seq] (forward_rows).
    public func forwardRows(ids: [Int], batch: Int, seq: Int, positions: [Int], mask: Tensor?, cache: KeyValueStore?) throws -> Tensor {
        guard forwardsRows, let f = family.pointee.forward_rows else { throw missing("forward_rows (a family built before ABI 1.8)") }
        guard positions.count == batch * seq else { throw missing("forward_rows with \(batch) × \(seq) positions (\(positions.count) given)") }
        return try run("forward_rows", f, ids: ids, batch: batch, seq: seq, positions: positions, mask: mask, cache: cache)
    }

    /// One step of continuous batching: `ids` [cache.rows, seq], each row fed at its own end in `cache`
    /// and attending over its own keys only (RaggedKeys); the cache advances when the pass succeeds.
    public func decodeRows(ids: [Int], seq: Int, cache: BatchedKVCache) throws -> Tensor {
        let positions = cache.lengths.flatMap { $0..<($0 + seq) }
        let (keyLengths, mask) = cache.prepare(tokens: seq)
        RaggedKeys.lengths = keyLengths
        defer { RaggedKeys.lengths = nil }
        let out = try forwardRows(ids: ids, batch: cache.rows, seq: seq, positions: positions, mask: mask, cache: cache)
        cache.advance()
        return out
    }

    private typealias ForwardFunction = @convention(c) (UnsafePointer<factory_model_family_t>?, UnsafePointer<Int64>?, Int64, Int64, UnsafePointer<Int64>?,
                                                        OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?,
                                                        OpaquePointer?) -> factory_status_t

    private func run(_ name: String, _ f: ForwardFunction, ids: [Int], batch: Int, seq: Int, positions: [Int], mask: Tensor?, cache: KeyValueStore?) throws -> Tensor {
        TensorHandles.push()
        defer { TensorHandles.pop() }
        let idValues = ids.map(Int64.init), posValues = positions.map(Int64.init)
        let maskHandle = mask.map { TensorHandles.scoped($0) }
        let cacheHandle = cache.map { OpaquePointer(Unmanaged.passUnretained($0 as AnyObject).toOpaque()) }
        var logits: OpaquePointer?
        try idValues.withUnsafeBufferPointer { i in
            try posValues.withUnsafeBufferPointer { p in
                try call(name) { err in f(family, i.baseAddress, Int64(batch), Int64(seq), p.baseAddress, maskHandle, cacheHandle, &logits, err) }
            }
        }
        return try TensorHandles.tensor(logits, "\(name)'s logits")
    }

    private func missing(_ what: String) -> PluginCallError {
        PluginCallError(component: component.name, call: what, status: FACTORY_ERR_INTERNAL.rawValue, message: "the plugin provides no \(what)")
    }
}
