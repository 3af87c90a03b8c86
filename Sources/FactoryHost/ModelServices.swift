import CFactoryABI
import FactoryEngine
#if canImport(Glibc)
import Glibc
#endif

/// What load_weights reads from: the open checkpoint's tensors by file name.
public protocol CheckpointSource: AnyObject {
    /// "gguf" or "safetensors".
    var format: String { get }
    /// The named tensor as fp32 in row-major (file) order, or nil when absent.
    func tensor(_ name: String) throws -> Tensor?
}

/// A host-owned key/value cache: per layer, [B, Hkv, capacity, D] keys and
/// values and how many positions are filled.
public final class KVCache {
    public let layers: Int
    public let capacity: Int
    var keys: [Tensor?]
    var values: [Tensor?]
    public private(set) var lengths: [Int]

    public init(layers: Int, capacity: Int) {
        self.layers = layers
        self.capacity = capacity
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
        lengths = Array(repeating: 0, count: layers)
    }

    /// Positions filled (of layer 0).
    public var length: Int { lengths.first ?? 0 }

    /// Forgets everything (a new conversation).
    public func reset() { lengths = Array(repeating: 0, count: layers) }

    /// Appends k/v [B, H, T, D] to `layer`; returns views of all keys and values so far.
    func update(layer: Int, k: Tensor, v: Tensor) throws -> (Tensor, Tensor) {
        try need(layer >= 0 && layer < layers, "kv_cache_update: layer \(layer) outside 0..<\(layers)")
        try needShape(k.rank == 4 && v.rank == 4 && k.shape[0...2] == v.shape[0...2], "kv_cache_update: k \(k.shape) and v \(v.shape) must be [B, H, T, D]")
        let (B, H, T) = (k.shape[0], k.shape[1], k.shape[2])
        let start = lengths[layer]
        try need(start + T <= capacity, "the context is full: \(start) + \(T) tokens exceed the cache of \(capacity) positions (cutoff/max length)")
        if keys[layer] == nil || keys[layer]!.shape != [B, H, capacity, k.shape[3]] || values[layer]!.shape != [B, H, capacity, v.shape[3]] {
            try needShape(start == 0, "kv_cache_update: shapes changed mid-sequence")
            keys[layer] = Tensor(shape: [B, H, capacity, k.shape[3]], zeroed: true)
            values[layer] = Tensor(shape: [B, H, capacity, v.shape[3]], zeroed: true)
        }
        let kc = keys[layer]!, vc = values[layer]!
        copyRows(k.contiguous(), into: kc, at: start)
        copyRows(v.contiguous(), into: vc, at: start)
        lengths[layer] = start + T
        return (kc.slice(axis: 2, start: 0, length: start + T), vc.slice(axis: 2, start: 0, length: start + T))
    }

    private func copyRows(_ src: Tensor, into cache: Tensor, at start: Int) {
        let (B, H, T, D) = (src.shape[0], src.shape[1], src.shape[2], src.shape[3])
        for b in 0..<B {
            for h in 0..<H {
                (cache.data + ((b * H + h) * capacity + start) * D).update(from: src.data + ((b * H + h) * T) * D, count: T * D)
            }
        }
    }
}

/// The model-loading half of the host table (1.1).
public enum ModelServices {
    /// The weights the model family in the current ExecutionContext is loading from, while it loads.
    static var checkpoint: CheckpointSource? {
        get { ExecutionContext.current.loadingSource as? CheckpointSource }
        set { ExecutionContext.current.loadingSource = newValue }
    }

    /// Named intermediates reported through observe() while `capturing` is on (the current
    /// ExecutionContext's `observed`).
    public static var capturing: Bool {
        get { ExecutionContext.current.observed != nil }
        set { ExecutionContext.current.observed = newValue ? (ExecutionContext.current.observed ?? [:]) : nil }
    }
    public static var captured: [String: Tensor] {
        get { ExecutionContext.current.observed ?? [:] }
        set { if capturing { ExecutionContext.current.observed = newValue } }
    }

    static func install(_ t: inout factory_host_api_t) {
        t.observe = { name, p in
            guard ModelServices.capturing, let name, let x = try? TensorHandles.tensor(p) else { return }
            ExecutionContext.current.observed?[String(cString: name)] = x.contiguousCopy()
        }
        t.checkpoint_tensor = { name, err in
            guard let name else { report(err, EngineCallError("checkpoint_tensor: name is NULL")); return nil }
            guard let source = ModelServices.checkpoint else {
                report(err, EngineCallError("checkpoint_tensor: no checkpoint is being loaded (call it from load_weights)"))
                return nil
            }
            do {
                return try source.tensor(String(cString: name)).map { TensorHandles.scoped($0) }
            } catch {
                report(err, EngineCallError("\(error)", status: FACTORY_ERR_IO))
                return nil
            }
        }
        t.checkpoint_format = {
            switch ModelServices.checkpoint?.format {
            case "gguf": return ModelServices.gguf
            case "safetensors": return ModelServices.safetensors
            default: return ModelServices.none
            }
        }
        t.kv_cache_update = { cache, layer, k, v, kAll, vAll, err in
            engineCall(err) {
                guard let cache else { throw EngineCallError("kv_cache_update: cache is NULL") }
                guard let kAll, let vAll else { throw EngineCallError("kv_cache_update: output pointers are NULL") }
                let c = Unmanaged<KVCache>.fromOpaque(UnsafeRawPointer(cache)).takeUnretainedValue()
                let (ka, va) = try c.update(layer: Int(layer), k: try TensorHandles.tensor(k, "k"), v: try TensorHandles.tensor(v, "v"))
                kAll.pointee = TensorHandles.scoped(ka)
                vAll.pointee = TensorHandles.scoped(va)
            }
        }
    }

    static let gguf: UnsafePointer<CChar> = UnsafePointer(strdup("gguf"))
    static let safetensors: UnsafePointer<CChar> = UnsafePointer(strdup("safetensors"))
    static let none: UnsafePointer<CChar> = UnsafePointer(strdup(""))
}
