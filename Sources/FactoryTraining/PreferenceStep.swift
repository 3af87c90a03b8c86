// Stage dpo's optimizer step, as LLaMA-Factory's CustomDPOTrainer runs it: each micro-batch's pairs
// go through the model as one batch (chosen rows, then rejected, right-padded to the longest), the
// policy's log-probability of each answer from the fused head (SequenceLogProbs), then the reference
// model's without gradients (ReferenceModel: for LoRA the same model with the adapter switched off, so
// no second copy of the weights) and PreferenceLoss over the pairs. The step's loss is the mean of its
// micro-batches' mean losses (transformers divides each by the accumulation steps), its metrics the
// mean of theirs (TRL stores each micro-batch's and averages them when it logs).
import FactoryData
import FactoryEngine
import Foundation

/// Stage dpo's data and settings.
public struct PreferenceData {
    public let train: [PairwiseExample]
    public let eval: [PairwiseExample]
    public let settings: PreferenceSettings
    /// ld_alpha (LD-DPO): the policy's log-probability of tokens past the shorter answer of a pair is weighted by it.
    public let ldAlpha: Double?
    /// Where the reference log-probabilities come from (a loss that uses none never reads it).
    public var reference: ReferenceModel

    public init(train: [PairwiseExample], eval: [PairwiseExample], settings: PreferenceSettings, ldAlpha: Double? = nil,
                reference: ReferenceModel = .adapterOff) {
        (self.train, self.eval, self.settings, self.ldAlpha, self.reference) = (train, eval, settings, ldAlpha, reference)
    }
}

extension Trainer {
    func preferenceStep(_ step: Int, _ data: PreferenceData) throws -> StepRecord {
        let started = Date()
        let micro = plan.microBatches(ofStep: step)
        var loss = 0.0, tokens = 0
        var metrics: [[String: Double]] = []
        for (m, indices) in micro.enumerated() {
            TrainingRandomness.seed = microBatchSeed(step: step, micro: m)
            defer { TrainingRandomness.seed = nil }
            let (outcome, batchTokens) = try preferenceLoss(indices.map { data.train[$0] }, data) {
                try referenceCache.values(for: indices) { batch in try pairReference(batch.map { data.train[$0] }, data) }
            }
            loss += Double(outcome.loss.data[0]) / Double(micro.count)
            tokens += batchTokens
            metrics.append(outcome.metrics)
            GradMode.backwardFailure = nil
            outcome.loss.backward(Tensor(shape: [1], values: [1 / Float(micro.count)]))
            if let failure = GradMode.backwardFailure { throw TrainingError("step \(step + 1): backward failed: \(failure)") }
        }
        let (norm, lr) = try update(step)
        var record = StepRecord(step: step + 1, loss: loss, gradNorm: norm, learningRate: lr, tokens: tokens, seconds: Date().timeIntervalSince(started))
        record.metrics = TrainerLog.mean(metrics)
        return record
    }

    /// One micro-batch of pairs: the recorded mean loss with its metrics, and the real tokens it held.
    /// `reference` gives the reference log-probabilities of each pair's answers (pairReference, or kept
    /// ones: ReferenceCache); a loss without reference never calls it.
    func preferenceLoss(_ pairs: [PairwiseExample], _ data: PreferenceData, reference: () throws -> [(Float, Float)]) throws -> (PreferenceOutcome, Int) {
        let s = data.settings
        let batch = MicroBatch(pairs.map(\.chosen) + pairs.map(\.rejected), padID: padID)
        let cap = adapted.model.finalLogitSoftcap
        let plain = SequenceTargets(labels: batch.labels, seq: batch.seq, softcap: cap, average: s.kind.averagesLogProbs)
        let weighted = data.ldAlpha.map { alpha in
            SequenceTargets(labels: batch.labels, seq: batch.seq, weights: Self.ldWeights(plain, pairs: pairs.count, alpha: Float(alpha)),
                            softcap: cap, average: s.kind.averagesLogProbs)
        }
        let policy = try answerLogProbs(batch, weighted ?? plain)
        let referenceValues: [Float]? = s.kind.usesReference ? try { let v = try reference(); return v.map(\.0) + v.map(\.1) }() : nil
        let lengths = plain.lengths
        let outcome = try PreferenceLoss.compute(policy: policy, reference: referenceValues, chosenLengths: Array(lengths.prefix(pairs.count)), s)
        return (outcome, batch.tokens)
    }

    /// The reference model's log-probabilities of each pair's (chosen, rejected) answer, without gradients,
    /// on the micro-batch training builds from `pairs`.
    func pairReference(_ pairs: [PairwiseExample], _ data: PreferenceData) throws -> [(Float, Float)] {
        let batch = MicroBatch(pairs.map(\.chosen) + pairs.map(\.rejected), padID: padID)
        let targets = SequenceTargets(labels: batch.labels, seq: batch.seq, softcap: adapted.model.finalLogitSoftcap,
                                      average: data.settings.kind.averagesLogProbs)
        let v = try GradMode.disabled { try answerLogProbs(batch, targets, under: data.reference).values }
        return (0..<pairs.count).map { (v[$0], v[pairs.count + $0]) }
    }

    /// LLaMA-Factory's ld_alpha weights: in each row, labelled positions up to the first labelled one plus
    /// the shorter answer's length of its pair weigh 1, later ones `alpha`.
    static func ldWeights(_ t: SequenceTargets, pairs: Int, alpha: Float) -> [Float] {
        let lengths = t.lengths
        var weights = [Float](repeating: 1, count: t.rows * t.seq)
        for row in 0..<t.rows {
            let pair = row % pairs, shorter = min(lengths[pair], lengths[pairs + pair])
            guard let first = (0..<t.seq).first(where: { t.targets[row * t.seq + $0] >= 0 }) else { continue }
            for i in (first + shorter)..<max(first + shorter, t.seq) { weights[row * t.seq + i] = alpha }
        }
        return weights
    }

    /// The preference loss over the evaluation pairs (micro-batches of per_device_eval_batch_size), each
    /// batch's mean weighted by its pairs as transformers' evaluation loop averages per sample, and the
    /// mean of each metric over the batches (TRL stores them per batch).
    func evaluatePreference(_ data: PreferenceData) throws -> (Double, [String: Double]) {
        try GradMode.disabled {
            var total = 0.0, metrics: [[String: Double]] = []
            for start in stride(from: 0, to: data.eval.count, by: args.evalBatchSize) {
                let pairs = Array(data.eval[start..<min(data.eval.count, start + args.evalBatchSize)])
                let (outcome, _) = try preferenceLoss(pairs, data) { try evalReferenceCache.values(batchStart: start) { try pairReference(pairs, data) } }
                total += Double(outcome.loss.data[0]) * Double(pairs.count)
                metrics.append(outcome.metrics)
            }
            return (data.eval.isEmpty ? 0 : total / Double(data.eval.count), TrainerLog.mean(metrics))
        }
    }
}
