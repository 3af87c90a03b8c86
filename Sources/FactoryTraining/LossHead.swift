// The causal-LM loss without the full logits: LM head and cross-entropy fused, only at the
// positions that carry a label (prompt tokens in SFT carry none), in chunks of rows.
//
// HF's rule: logits[:, :-1] against labels[:, 1:], fp32 cross-entropy, summed over every
// non-masked target and divided by `normalizer` (the number of targets in the whole optimizer
// step, so micro-batches add up to the mean over the step).
//
// Forward computes, per chunk: logits = h · Wᵀ, loss = logsumexp - logit[target], and at once
// the gradient d(loss)/d(logits) = (softmax - onehot) / normalizer, which it turns into
// dH = dlogits · W (and dW += dlogitsᵀ · h when the head trains). Backward only scales the stored
// dH by the incoming scalar: the [tokens × vocab] logits never exist beyond one chunk.
//
// A final soft cap (Gemma 2: logits → cap · tanh(logits / cap), what the model family declares as
// `final_logit_softcapping`) applies to each chunk's logits before the loss, and its derivative
// 1 − tanh² to their gradient.
import Glibc
import FactoryEngine

/// Targets of one micro-batch and the normaliser of its optimizer step.
public struct LossTargets {
    /// Per position of the flattened [batch, seq] input: the id to predict there, or -100.
    public let targets: [Int]
    public let normalizer: Float
    /// The final logit soft cap (0: none).
    public let softcap: Float

    /// Shifted labels: position t predicts labels[t + 1] of the same row.
    public init(labels: [[Int]], seq: Int, normalizer: Float, softcap: Float = 0) {
        var t = [Int](repeating: -100, count: labels.count * seq)
        for (b, row) in labels.enumerated() {
            for i in 0..<(min(row.count, seq) - 1) where row[i + 1] != -100 { t[b * seq + i] = row[i + 1] }
        }
        targets = t
        self.normalizer = normalizer
        self.softcap = softcap
    }
}

public enum LossHead {
    /// Rows per chunk: 256 × 49,152 logits is 50 MB.
    static let chunkRows = 256

    /// The summed loss / normalizer as a one-element tensor, differentiable in `hidden` and `weight`.
    public static func loss(hidden: Tensor, weight: Tensor, _ t: LossTargets) throws -> Tensor {
        let H = hidden.shape[hidden.rank - 1], V = weight.shape[0]
        guard weight.rank == 2, weight.shape[1] == H else { throw HookError("lm_head: weight \(weight.shape) does not fit hidden size \(H)") }
        guard hidden.count / H == t.targets.count else {
            throw HookError("lm_head: \(hidden.count / H) positions but \(t.targets.count) targets")
        }
        let h = hidden.isContiguous ? hidden : hidden.contiguousCopy()
        let w = weight.isContiguous ? weight : weight.contiguousCopy()
        var selected: [Int] = []
        for (i, target) in t.targets.enumerated() where target >= 0 {
            guard target < V else { throw HookError("lm_head: target id \(target) is outside the vocabulary (\(V))") }
            selected.append(i)
        }
        let N = selected.count
        let dH = Tensor(shape: [max(N, 1), H], zeroed: true)
        let dW: Tensor? = weight.requiresGrad ? Tensor(shape: [V, H], zeroed: true) : nil
        let rowsBuffer = Tensor(shape: [chunkRows, H]), logits = Tensor(shape: [chunkRows, V])
        let cap = t.softcap, tanhs: Tensor? = cap > 0 ? Tensor(shape: [chunkRows, V]) : nil
        var rowLoss = [Double](repeating: 0, count: chunkRows)
        let inverse = 1 / t.normalizer
        var total = 0.0
        for start in stride(from: 0, to: N, by: chunkRows) {
            let c = min(chunkRows, N - start)
            chunkLogits(h, w, selected[start..<(start + c)], rows: rowsBuffer, into: logits)
            rowLoss.withUnsafeMutableBufferPointer { losses in
                let lossPtr = losses.baseAddress!
                parallelFor(c, grain: 4) { range in
                    for r in range {
                        let row = logits.data + r * V
                        let target = t.targets[selected[start + r]]
                        if let tanhs { capLogits(row, tanhs.data + r * V, V, cap: cap) }
                        let lse = logSumExp(row, V)
                        lossPtr[r] = Double(lse - row[target])
                        expShiftScale(row, shift: lse, scale: inverse, row, V)
                        row[target] -= inverse
                        if let tanhs { uncapGradient(row, tanhs.data + r * V, V) }
                    }
                }
            }
            for r in 0..<c { total += rowLoss[r] }
            gemm(transA: false, transB: false, M: c, N: H, K: V, logits.data, lda: V, w.data, ldb: H, dH.data + start * H, ldc: H, bOwner: w)
            if let dW {
                gemm(transA: true, transB: false, M: V, N: H, K: c, logits.data, lda: V, rowsBuffer.data, ldb: H, beta: 1, dW.data, ldc: H)
            }
        }
        let out = Tensor(shape: [1], values: [Float(total / Double(t.normalizer))])
        let shape = hidden.shape
        return recordCustom(out, name: "lm_head_cross_entropy", inputs: [hidden, weight]) { g in
            let scale = g.contiguous().data[0]
            let gh = Tensor(shape: shape, zeroed: true)
            for (i, position) in selected.enumerated() {
                let src = dH.data + i * H, dst = gh.data + position * H
                for j in 0..<H { dst[j] = src[j] * scale }
            }
            let gw = dW.map { d -> Tensor in
                if scale != 1 { for i in 0..<d.count { d.data[i] *= scale } }
                return d
            }
            return [gh, gw]
        }
    }

    /// The logits of the hidden rows at `positions` (of h [positions, H]) under the head w [V, H]: the rows
    /// gathered into `rows`, then one sgemm into `logits` [positions.count, V].
    static func chunkLogits(_ h: Tensor, _ w: Tensor, _ positions: ArraySlice<Int>, rows: Tensor, into logits: Tensor) {
        let H = w.shape[1], V = w.shape[0], c = positions.count
        for (r, p) in positions.enumerated() { (rows.data + r * H).update(from: h.data + p * H, count: H) }
        gemm(transA: false, transB: true, M: c, N: V, K: H, rows.data, lda: H, w.data, ldb: H, logits.data, ldc: V, bOwner: w)
    }

    /// row ← cap · tanh(row / cap), keeping tanh(row / cap) in `tanhs` for the gradient.
    static func capLogits(_ row: UnsafeMutablePointer<Float>, _ tanhs: UnsafeMutablePointer<Float>, _ n: Int, cap: Float) {
        for i in 0..<n {
            let t = tanhf(row[i] / cap)
            tanhs[i] = t
            row[i] = cap * t
        }
    }

    /// row ← row · (1 − tanh²): the gradient through the cap.
    static func uncapGradient(_ row: UnsafeMutablePointer<Float>, _ tanhs: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { row[i] *= 1 - tanhs[i] * tanhs[i] }
    }
}
