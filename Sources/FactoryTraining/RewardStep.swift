// Stage rm's optimizer step, as LLaMA-Factory's PairwiseTrainer computes it: each micro-batch's pairs
// through the model as one batch (chosen rows, then rejected), the value head's score at each row's last
// real token, and the pairwise loss −log σ(r_chosen − r_rejected), the mean over the pairs. Evaluation
// adds LLaMA-Factory's accuracy: the share of pairs whose chosen answer scores higher.
import FactoryData
import FactoryEngine
import Foundation

/// Stage rm's data and the value head it trains.
public struct RewardData {
    public let train: [PairwiseExample]
    public let eval: [PairwiseExample]
    public let valueHead: ValueHead

    public init(train: [PairwiseExample], eval: [PairwiseExample], valueHead: ValueHead) {
        (self.train, self.eval, self.valueHead) = (train, eval, valueHead)
    }
}

extension Trainer {
    func rewardStep(_ step: Int, _ data: RewardData) throws -> StepRecord {
        let started = Date()
        let micro = plan.microBatches(ofStep: step)
        var loss = 0.0, tokens = 0
        for (m, indices) in micro.enumerated() {
            let seed = microBatchSeed(step: step, micro: m)
            TrainingRandomness.seed = seed
            defer { TrainingRandomness.seed = nil }
            let (l, _, batchTokens) = try rewardLoss(indices.map { data.train[$0] }, data, dropoutSeed: seed)
            loss += Double(l.data[0]) / Double(micro.count)
            tokens += batchTokens
            GradMode.backwardFailure = nil
            l.backward(Tensor(shape: [1], values: [1 / Float(micro.count)]))
            if let failure = GradMode.backwardFailure { throw TrainingError("step \(step + 1): backward failed: \(failure)") }
        }
        let (norm, lr) = try update(step)
        return StepRecord(step: step + 1, loss: loss, gradNorm: norm, learningRate: lr, tokens: tokens, seconds: Date().timeIntervalSince(started))
    }

    /// One micro-batch of pairs: the recorded mean pairwise loss, the share of pairs ranked right, the real tokens.
    func rewardLoss(_ pairs: [PairwiseExample], _ data: RewardData, dropoutSeed: UInt64?) throws -> (Tensor, Double, Int) {
        let rows = pairs.map(\.chosen) + pairs.map(\.rejected)
        let batch = MicroBatch(rows, padID: padID)
        let last = rows.enumerated().map { b, e in b * batch.seq + e.inputIDs.count - 1 }  // each row's last real token
        let head = data.valueHead
        let scores = try adapted.withHooks(fusedHead: { x, _ in head.scores(hidden: x, positions: last, seed: dropoutSeed) }) {
            try adapted.model.forward(ids: batch.ids, batch: batch.batch, seq: batch.seq, positions: Array(0..<batch.seq), mask: nil, headFused: true)
        }
        let (loss, accuracy) = try Self.pairwiseLoss(scores)
        return (loss, accuracy, batch.tokens)
    }

    /// −log σ(c − r) averaged over the pairs of `scores` [2P] (chosen first), with its gradient; and the
    /// share of pairs with c > r.
    static func pairwiseLoss(_ scores: Tensor) throws -> (Tensor, Double) {
        let p = scores.count / 2
        guard p > 0, scores.count == 2 * p else { throw TrainingError("reward loss: \(scores.count) scores do not make pairs") }
        let s = scores.contiguous()
        var total = 0.0, right = 0
        var grads = [Float](repeating: 0, count: 2 * p)
        for i in 0..<p {
            let d = Double(s.data[i]) - Double(s.data[p + i])
            total += -PreferenceLoss.logSigmoid(d)
            let g = -PreferenceLoss.sigmoid(-d) / Double(p)  // d loss / d c; d loss / d r is its negative
            (grads[i], grads[p + i]) = (Float(g), Float(-g))
            if d > 0 { right += 1 }
        }
        let out = Tensor(shape: [1], values: [Float(total / Double(p))])
        let loss = recordCustom(out, name: "pairwise_reward_loss", inputs: [scores]) { g in
            let scale = g.contiguous().data[0]
            return [Tensor(shape: scores.shape, values: grads.map { $0 * scale })]
        }
        return (loss, Double(right) / Double(p))
    }

    /// The mean pairwise loss over the evaluation pairs (weighted per pair, as transformers' evaluation loop
    /// averages) and LLaMA-Factory's accuracy over all of them.
    func evaluateReward(_ data: RewardData) throws -> (Double, [String: Double]) {
        try GradMode.disabled {
            var total = 0.0, right = 0.0
            for start in stride(from: 0, to: data.eval.count, by: args.evalBatchSize) {
                let pairs = Array(data.eval[start..<min(data.eval.count, start + args.evalBatchSize)])
                let (loss, accuracy, _) = try rewardLoss(pairs, data, dropoutSeed: nil)
                total += Double(loss.data[0]) * Double(pairs.count)
                right += accuracy * Double(pairs.count)
            }
            let n = Double(max(data.eval.count, 1))
            return (total / n, ["accuracy": right / n])
        }
    }
}
