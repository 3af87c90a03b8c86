import Synchronization

// Several packed linears of one input (a layer's q, k and v projections; its gate and up projections) as
// one parallel job. Decoding a token multiplies each of them straight from the packed rows, split across
// the threads by SpinningWorkers; run one at a time, each pays a job's start and its wait for the slowest
// thread, 229 jobs a token on SmolLM2. Here the output rows of all of them are dealt to the threads at
// once, so q/k/v cost one job and gate/up one. Each output row is the same row product as when its
// weight runs alone (row products do not depend on the range asked for), so results are bit-identical.

/// x · Wᵢᵀ (+ bᵢ) for each packed weight Wᵢ, equal bit for bit to `packedLinear(x, Wᵢ, bias: bᵢ)` each;
/// nil when any of them would not multiply this input straight from its packed rows (too many input
/// rows, no such product, another input width), and then the caller runs them one by one.
public func packedLinearGroup(_ x: Tensor, _ weights: [PackedWeight], biases: [Tensor?]) throws -> [Tensor]? {
    guard let cols = weights.first?.cols, weights.count == biases.count, x.rank >= 1, x.shape[x.rank - 1] == cols,
          weights.allSatisfy({ $0.cols == cols }) else { return nil }
    let n = x.count / cols
    var products: [PackedWeight.RowProduct] = []
    for w in weights {
        guard let product = try w.directProduct(rows: n) else { return nil }
        products.append(product)
    }
    let xc = x.contiguous()
    let outs = weights.map { Tensor(shape: Array(x.shape.dropLast()) + [$0.rows]) }
    try multiplyGroup(xc, n, weights, products, into: outs)
    return zip(zip(outs, weights), biases).map { pair, bias in
        let (out, w) = pair
        return bias.map { add(recordPackedLinear(out, xc, w), $0) } ?? recordPackedLinear(out, xc, w)
    }
}

/// The weights' output rows, laid end to end, dealt to the engine's threads through SpinningWorkers in
/// contiguous ranges cut at multiples of 8 rows (the quantizers' row groups: a group is never computed
/// by two threads); serial below the size where a split pays. A decoding token's products are far too
/// short to pay for waking GCD's workers, not for helpers still spinning from the previous product.
/// (Smaller ranges claimed in turn were slower: each call rounds its input to 8 bits again.)
func multiplyGroup(_ x: Tensor, _ n: Int, _ weights: [PackedWeight], _ products: [PackedWeight.RowProduct],
                   into outs: [Tensor]) throws {
    var offsets = [0]
    for w in weights { offsets.append(offsets[offsets.count - 1] + w.rows) }
    let total = offsets[offsets.count - 1], cols = weights[0].cols
    let xp = x.data
    let outPointers = outs.map(\.data), rows = weights.map(\.rows)
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
