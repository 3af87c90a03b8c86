// embedding: gather rows of a [V, D] table; backward scatter-adds into the table's gradient.

/// Rows `ids` of `weight` [V, D] → [ids.count, D].
public func embedding(_ weight: Tensor, ids: [Int]) -> Tensor {
    if let problem = ShapeRules.embedding(weight: weight.shape) { preconditionFailure(problem) }
    let V = weight.shape[0], D = weight.shape[1]
    let w = weight.contiguous()
    let out = Tensor(shape: [ids.count, D])
    for (i, id) in ids.enumerated() {
        precondition(id >= 0 && id < V, "embedding: id \(id) outside the vocabulary of \(V)")
        (out.data + i * D).update(from: w.data + id * D, count: D)
    }
    if GradMode.enabled, let noise = EmbeddingNoise.current { noise.add(to: out, hidden: D) }
    return out.recorded("embedding", [w]) { g in
        let gc = g.contiguous(), dw = Tensor(shape: [V, D], zeroed: true)
        for (i, id) in ids.enumerated() {
            map8(dw.data + id * D, gc.data + i * D, dw.data + id * D, 0..<D) { $0 + $1 }
        }
        return [dw]
    }
}

/// NEFTune (neftune_noise_alpha): while training, the input embeddings get uniform noise in
/// ±alpha / sqrt(seq · hidden), as transformers' forward hook adds it (seq = the padded batch
/// length). The trainer sets it around each training forward with a seed per micro-batch, so a
/// resumed run draws the same noise; evaluation and generation never see it.
public struct EmbeddingNoise: Sendable {
    public let alpha: Float
    public let seq: Int
    public let seed: UInt64
    /// (The current ExecutionContext's.)
    public static var current: EmbeddingNoise? {
        get { ExecutionContext.current.embeddingNoise }
        set { ExecutionContext.current.embeddingNoise = newValue }
    }

    public init(alpha: Float, seq: Int, seed: UInt64) {
        (self.alpha, self.seq, self.seed) = (alpha, seq, seed)
    }

    func add(to out: Tensor, hidden D: Int) {
        let magnitude = alpha / Float(seq * D).squareRoot()
        var rng = SplitMix64(seed: seed)
        for i in 0..<out.count { out.data[i] += Float((rng.nextUnit() * 2 - 1)) * magnitude }
    }
}
