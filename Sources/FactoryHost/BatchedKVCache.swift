import FactoryEngine

/// The KV cache of continuous batching: up to `maxRows` sequences side by side, each with its own length.
/// A sequence joins with its prompt's keys and values prefilled in a KVCache of its own (`add`); every
/// decoding step appends one token to each row at that row's own end (a model family's forward_rows,
/// ABI 1.8), between `prepare` and `advance`; a sequence that ends leaves (`remove`) and the last row
/// takes its place. Storage grows by doubling when the longest row would not fit. Used on the thread
/// that runs the model.
public final class BatchedKVCache: KeyValueStore {
    public let layers: Int, kvHeads: Int, headDim: Int, maxRows: Int
    /// Positions each row can hold before the storage grows.
    public private(set) var capacity: Int
    /// Per layer: [maxRows, kvHeads, capacity, headDim].
    private var keys: [Tensor], values: [Tensor]
    /// Positions filled, per active row.
    public private(set) var lengths: [Int] = []
    /// Tokens the step being run appends to every row (set by `prepare`).
    private var stepTokens = 0

    public init(layers: Int, kvHeads: Int, headDim: Int, maxRows: Int, capacity: Int = 256) {
        (self.layers, self.kvHeads, self.headDim, self.maxRows) = (layers, kvHeads, headDim, maxRows)
        self.capacity = max(capacity, 1)
        keys = (0..<layers).map { _ in Tensor(shape: [maxRows, kvHeads, max(capacity, 1), headDim], zeroed: true) }
        values = (0..<layers).map { _ in Tensor(shape: [maxRows, kvHeads, max(capacity, 1), headDim], zeroed: true) }
    }

    /// Active rows.
    public var rows: Int { lengths.count }

    /// Adds a row holding `prefilled`'s keys and values (one sequence, its prompt); returns the row's index.
    public func add(_ prefilled: KVCache) throws -> Int {
        guard rows < maxRows else { throw EngineCallError("batched KV cache: all \(maxRows) rows are taken") }
        guard prefilled.layers == layers else { throw EngineCallError("batched KV cache: \(prefilled.layers) layers prefilled, \(layers) expected") }
        let n = prefilled.length
        grow(toFit: n + 1)
        let row = rows
        for l in 0..<layers {
            guard let (k, v) = prefilled.storage(layer: l) else { continue }
            guard k.shape[0] == 1, k.shape[1] == kvHeads, k.shape[3] == headDim else {
                throw EngineCallError("batched KV cache: a prefilled layer of shape \(k.shape), [1, \(kvHeads), _, \(headDim)] expected")
            }
            for h in 0..<kvHeads {
                (keys[l].data + offset(row, h)).update(from: k.data + h * prefilled.capacity * headDim, count: n * headDim)
                (values[l].data + offset(row, h)).update(from: v.data + h * prefilled.capacity * headDim, count: n * headDim)
            }
        }
        lengths.append(n)
        return row
    }

    /// Removes row `row`: the last row moves into its place (callers renumber it), the rest stay.
    public func remove(row: Int) {
        guard row >= 0 && row < rows else { return }
        let last = rows - 1
        if row != last {
            for l in 0..<layers {
                for h in 0..<kvHeads {
                    (keys[l].data + offset(row, h)).update(from: keys[l].data + offset(last, h), count: lengths[last] * headDim)
                    (values[l].data + offset(row, h)).update(from: values[l].data + offset(last, h), count: lengths[last] * headDim)
                }
            }
            lengths[row] = lengths[last]
        }
        lengths.removeLast()
    }

    /// Before a step that appends `tokens` to every row: grows the storage if needed and returns each
    /// row's key count after the step, and the additive mask [rows, 1, 1, longest] with 0 on each row's
    /// own keys and −∞ past them.
    public func prepare(tokens: Int) -> (keyLengths: [Int], mask: Tensor) {
        let after = lengths.map { $0 + tokens }
        let longest = after.max() ?? tokens
        grow(toFit: longest)
        stepTokens = tokens
        let mask = Tensor(shape: [max(rows, 1), 1, 1, longest], zeroed: true)
        for (r, n) in after.enumerated() where n < longest {
            for j in n..<longest { mask.data[r * longest + j] = -.infinity }
        }
        return (after, mask)
    }

    /// After the step's forward pass appended its tokens in every layer.
    public func advance() {
        lengths = lengths.map { $0 + stepTokens }
        stepTokens = 0
    }

    /// Appends k/v [rows, H, T, D] to `layer`, each row at its own end; returns keys and values
    /// [rows, H, longest, D] (past a row's end: stale or zero values that the step's mask hides).
    public func append(layer: Int, k: Tensor, v: Tensor) throws -> (Tensor, Tensor) {
        guard layer >= 0 && layer < layers else { throw EngineCallError("kv_cache_update: layer \(layer) outside 0..<\(layers)") }
        guard k.rank == 4, v.rank == 4, k.shape == v.shape, k.shape[0] == rows, k.shape[1] == kvHeads, k.shape[3] == headDim else {
            throw EngineCallError("kv_cache_update: k \(k.shape) and v \(v.shape) must be [\(rows), \(kvHeads), T, \(headDim)] in a batched step")
        }
        let T = k.shape[2]
        guard T == stepTokens else { throw EngineCallError("kv_cache_update: \(T) tokens in a batched step prepared for \(stepTokens)") }
        let kc = k.contiguous(), vc = v.contiguous()
        for r in 0..<rows {
            for h in 0..<kvHeads {
                let src = (r * kvHeads + h) * T * headDim, dst = offset(r, h) + lengths[r] * headDim
                (keys[layer].data + dst).update(from: kc.data + src, count: T * headDim)
                (values[layer].data + dst).update(from: vc.data + src, count: T * headDim)
            }
        }
        let longest = (lengths.max() ?? 0) + T
        func view(_ t: Tensor) -> Tensor { t.slice(axis: 0, start: 0, length: rows).slice(axis: 2, start: 0, length: longest) }
        return (view(keys[layer]), view(values[layer]))
    }

    private func offset(_ row: Int, _ head: Int) -> Int { (row * kvHeads + head) * capacity * headDim }

    /// Doubles the storage until `positions` fit in a row, keeping every row's contents.
    private func grow(toFit positions: Int) {
        guard positions > capacity else { return }
        var bigger = capacity
        while bigger < positions { bigger *= 2 }
        func regrown(_ old: Tensor) -> Tensor {
            let t = Tensor(shape: [maxRows, kvHeads, bigger, headDim], zeroed: true)
            for r in 0..<maxRows {
                for h in 0..<kvHeads {
                    (t.data + (r * kvHeads + h) * bigger * headDim).update(from: old.data + offset(r, h), count: capacity * headDim)
                }
            }
            return t
        }
        keys = keys.map(regrown)
        values = values.map(regrown)
        capacity = bigger
    }
}
