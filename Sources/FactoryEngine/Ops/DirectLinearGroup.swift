import Synchronization

// Several linears of one input (a layer's q, k and v projections; its gate and up projections) as one
// parallel job. Decoding a token multiplies each weight straight from its rows (a packed weight through
// its quantizer's row product, a dense fp32 one through DenseRowProduct), split across the threads by
// SpinningWorkers; run one at a time, each pays a job's start and its wait for the slowest thread (229
// jobs a token on SmolLM2). Here the output rows of all of them are dealt to the threads at once, so
// q/k/v cost one job and gate/up one. Each output row is the same row product as when its weight runs
// alone (row products do not depend on the range asked for), so results are bit-identical.

/// What a linear multiplies by: a weight kept packed by a quantizer, or a dense [out, in] fp32 matrix.
public enum LinearWeight {
    case packed(PackedWeight)
    case dense(Tensor)

    /// Output size (rows of the [out, in] weight).
    var rows: Int {
        switch self {
        case .packed(let w): return w.rows
        case .dense(let w): return w.shape[0]
        }
    }

    /// The product straight from the weight's rows for an input of `n` rows, or nil (see
    /// `PackedWeight.directProduct` and `denseRowProduct`).
    func directProduct(rows n: Int, cols: Int) throws -> PackedWeight.RowProduct? {
        switch self {
        case .packed(let w): return w.cols == cols ? try w.directProduct(rows: n) : nil
        case .dense(let w): return w.rank == 2 && w.shape[1] == cols ? denseRowProduct(w, inputRows: n) : nil
        }
    }
}

/// x · Wᵢᵀ (+ bᵢ) for each weight Wᵢ, equal bit for bit to what `EngineHooks.denseLinear` gives for each;
/// nil when any of them would not multiply this input straight from its rows (too many input rows, no
/// such product, another input width, gradients on for a dense weight), and then the caller runs them
/// one by one.
public func linearGroup(_ x: Tensor, _ weights: [LinearWeight], biases: [Tensor?]) throws -> [Tensor]? {
    guard !weights.isEmpty, weights.count == biases.count, x.rank >= 1 else { return nil }
    let cols = x.shape[x.rank - 1], n = x.count / max(cols, 1)
    var products: [PackedWeight.RowProduct] = []
    for (w, bias) in zip(weights, biases) {
        // a bias that does not fit goes one by one, to the linear that names it in its error
        guard let product = try w.directProduct(rows: n, cols: cols), bias.map({ $0.shape == [w.rows] }) ?? true else { return nil }
        products.append(product)
    }
    let xc = x.contiguous()
    let outs = weights.map { Tensor(shape: Array(x.shape.dropLast()) + [$0.rows]) }
    try multiplyGroup(xc, n, cols, weights.map(\.rows), products, into: outs)
    return zip(zip(outs, weights), biases).map { pair, bias in
        var out = pair.0
        if case .packed(let w) = pair.1 { out = recordPackedLinear(out, xc, w) }  // dense ones run without gradients
        return bias.map { add(out, $0) } ?? out
    }
}

/// The weights' output rows, laid end to end, dealt to the engine's threads through SpinningWorkers in
/// contiguous ranges cut at multiples of 8 rows (the quantizers' row groups: a group is never computed
/// by two threads); serial below the size where a split pays. A decoding token's products are far too
/// short to pay for waking GCD's workers, not for helpers still spinning from the previous product.
/// (Smaller ranges claimed in turn were slower: each call rounds its input to 8 bits again.)
func multiplyGroup(_ x: Tensor, _ n: Int, _ cols: Int, _ rows: [Int], _ products: [PackedWeight.RowProduct],
                   into outs: [Tensor]) throws {
    var offsets = [0]
    for r in rows { offsets.append(offsets[offsets.count - 1] + r) }
    let total = offsets[offsets.count - 1]
    let xp = x.data
    let outPointers = outs.map(\.data)
    let run = { (from: Int, to: Int) throws in
        for i in rows.indices {
            let lo = max(from, offsets[i]), hi = min(to, offsets[i + 1])
            if lo < hi { try products[i](xp, n, lo - offsets[i], hi - lo, outPointers[i] + (lo - offsets[i]), rows[i]) }
        }
    }
    guard Threads.count > 1, n * total * cols >= PackedWeight.parallelWork, total >= 16 * Threads.count else {
        return try run(0, total)
    }
    let failure = Mutex<Error?>(nil)
    SpinningWorkers.shared.run { part, parts in
        let cut = { (p: Int) in p == parts ? total : total * p / parts / 8 * 8 }
        do { try run(cut(part), cut(part + 1)) } catch { failure.withLock { $0 = $0 ?? error } }
    }
    if let error = failure.withLock({ $0 }) { throw error }
}
