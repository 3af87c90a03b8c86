import FactoryEngine

/// Where a model family's forward() keeps keys and values: the host's kv_cache_update appends to it.
/// Used on the thread that runs the forward pass.
public protocol KeyValueStore: AnyObject {
    /// Appends k/v [B, Hkv, T, D] to `layer`; returns views of that layer's keys and values so far.
    func append(layer: Int, k: Tensor, v: Tensor) throws -> (Tensor, Tensor)
}

/// A host-owned key/value cache for one generation: per layer, [B, Hkv, capacity, D] keys and
/// values and how many positions are filled (the same for every row).
public final class KVCache: KeyValueStore {
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
    public func append(layer: Int, k: Tensor, v: Tensor) throws -> (Tensor, Tensor) {
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

    /// Layer `layer`'s stored keys and values ([B, H, capacity, D]), nil before the first append.
    func storage(layer: Int) -> (keys: Tensor, values: Tensor)? {
        guard let k = keys[layer], let v = values[layer] else { return nil }
        return (k, v)
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
