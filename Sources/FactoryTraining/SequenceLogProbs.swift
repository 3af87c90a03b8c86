// The log-probability of each row's labelled tokens, what the preference stages compare: LM head and
// log-softmax fused as in LossHead, only at the positions that carry a label, in chunks of rows, the
// [tokens × vocab] logits never whole.
//
// Row b's value is Σ_t weight_t · log p(label_{t+1} | ..t) over its labelled positions (LLaMA-Factory's
// get_batch_logps: logits[:, :-1] against labels[:, 1:]; the weight is 1, or ld_alpha past the shorter
// answer of a pair). The gradient of log p at one position with respect to its logits is onehot − softmax;
// forward keeps each position's weight · (onehot − softmax) · W as its hidden-state gradient, and backward
// scales it by the incoming gradient of the position's row. A trainable head weight gets its gradient in
// backward by computing each chunk's softmax again (the row gradients are only known there).
import FactoryEngine

/// The labelled positions of one batch of rows, with their weights.
public struct SequenceTargets {
    /// Per position of the flattened [rows, seq] input: the id to predict there, or -100.
    public let targets: [Int]
    public let rows: Int
    public let seq: Int
    /// Per position: the weight of its log-probability (1 unless ld_alpha weighs it down).
    public let weights: [Float]
    /// The final logit soft cap (0: none).
    public let softcap: Float
    /// Each row's value divided by its number of labelled positions (LLaMA-Factory for ipo, orpo, simpo).
    public let average: Bool

    /// Shifted labels as in LossTargets; `weights` per position of the flattened input (nil: all 1).
    public init(labels: [[Int]], seq: Int, weights: [Float]? = nil, softcap: Float = 0, average: Bool = false) {
        targets = LossTargets(labels: labels, seq: seq, normalizer: 1).targets
        rows = labels.count
        self.seq = seq
        self.weights = weights ?? [Float](repeating: 1, count: labels.count * seq)
        self.softcap = softcap
        self.average = average
    }

    /// The number of labelled positions of each row (LLaMA-Factory's valid_length).
    public var lengths: [Int] {
        (0..<rows).map { b in (0..<seq).reduce(0) { $0 + (targets[b * seq + $1] >= 0 ? 1 : 0) } }
    }
}

/// The fused head of the preference stages: each row's log-probability of its labelled tokens (above).
public enum SequenceLogProbs {
    /// [rows] log-probabilities, differentiable in `hidden` and (when it requires a gradient) `weight`.
    public static func logProbs(hidden: Tensor, weight: Tensor, _ t: SequenceTargets) throws -> Tensor {
        let H = hidden.shape[hidden.rank - 1], V = weight.shape[0]
        guard weight.rank == 2, weight.shape[1] == H else { throw HookError("lm_head: weight \(weight.shape) does not fit hidden size \(H)") }
        guard hidden.count / H == t.targets.count else { throw HookError("lm_head: \(hidden.count / H) positions but \(t.targets.count) targets") }
        let h = hidden.isContiguous ? hidden : hidden.contiguousCopy()
        let w = weight.isContiguous ? weight : weight.contiguousCopy()
        var selected: [Int] = []
        for (i, target) in t.targets.enumerated() where target >= 0 {
            guard target < V else { throw HookError("lm_head: target id \(target) is outside the vocabulary (\(V))") }
            selected.append(i)
        }
        let N = selected.count, chunk = LossHead.chunkRows
        // without gradients (the preference stages' reference pass) only the log-probabilities are formed
        let needsGradient = GradMode.isEnabled && (hidden.requiresGrad || weight.requiresGrad)
        let dH = Tensor(shape: [needsGradient ? max(N, 1) : 1, H], zeroed: true)
        let rowsBuffer = Tensor(shape: [chunk, H]), logits = Tensor(shape: [chunk, V])
        let cap = t.softcap, tanhs: Tensor? = cap > 0 ? Tensor(shape: [chunk, V]) : nil
        var positionLogProb = [Double](repeating: 0, count: max(N, 1))
        /// Logits of positions start..<start + c into `logits` (capped), then each row turned into
        /// scale(position) · (softmax − onehot) with the position's log-probability recorded.
        func gradientRows(_ start: Int, _ c: Int, scale: (Int) -> Float) {
            LossHead.chunkLogits(h, w, selected[start..<(start + c)], rows: rowsBuffer, into: logits)
            positionLogProb.withUnsafeMutableBufferPointer { logps in
                let out = logps.baseAddress!
                parallelFor(c, grain: 4) { range in
                    for r in range {
                        let row = logits.data + r * V, target = t.targets[selected[start + r]], s = scale(start + r)
                        if let tanhs { LossHead.capLogits(row, tanhs.data + r * V, V, cap: cap) }
                        let lse = logSumExp(row, V)
                        out[start + r] = Double(row[target] - lse)
                        guard needsGradient else { continue }
                        expShiftScale(row, shift: lse, scale: s, row, V)
                        row[target] -= s
                        if let tanhs { LossHead.uncapGradient(row, tanhs.data + r * V, V) }
                    }
                }
            }
        }
        // forward: d log p / d h = −weight · (softmax − onehot) · W for every position
        for start in stride(from: 0, to: N, by: chunk) {
            let c = min(chunk, N - start)
            gradientRows(start, c) { -t.weights[selected[$0]] }
            guard needsGradient else { continue }
            gemm(transA: false, transB: false, M: c, N: H, K: V, logits.data, lda: V, w.data, ldb: H, dH.data + start * H, ldc: H, bOwner: w)
        }
        var sums = [Double](repeating: 0, count: t.rows)
        for (i, position) in selected.enumerated() { sums[position / t.seq] += Double(t.weights[position]) * positionLogProb[i] }
        // averaged: row b's value and gradient divided by its count of labelled positions
        let divisors = t.average ? t.lengths.map { Float(max($0, 1)) } : [Float](repeating: 1, count: t.rows)
        let out = Tensor(shape: [t.rows], values: zip(sums, divisors).map { Float($0 / Double($1)) })
        guard needsGradient else { return out }
        let shape = hidden.shape, trainsHead = weight.requiresGrad
        return recordCustom(out, name: "lm_head_sequence_logprobs", inputs: [hidden, weight]) { g in
            let gc = g.contiguous()
            let gh = Tensor(shape: shape, zeroed: true)
            for (i, position) in selected.enumerated() {
                let s = gc.data[position / t.seq] / divisors[position / t.seq], src = dH.data + i * H, dst = gh.data + position * H
                for j in 0..<H { dst[j] = src[j] * s }
            }
            guard trainsHead else { return [gh, nil] }
            let gw = Tensor(shape: [V, H], zeroed: true)
            for start in stride(from: 0, to: N, by: chunk) {
                let c = min(chunk, N - start)
                gradientRows(start, c) { -t.weights[selected[$0]] * gc.data[selected[$0] / t.seq] / divisors[selected[$0] / t.seq] }
                gemm(transA: true, transB: false, M: V, N: H, K: c, logits.data, lda: V, rowsBuffer.data, ldb: H, beta: 1, gw.data, ldc: H)
            }
            return [gh, gw]
        }
    }
}
