// Stage kto, as LLaMA-Factory's CustomKTOTrainer runs it with TRL's kto_loss: each micro-batch's answers go
// through the model once with gradients (the policy's log-probabilities, summed over each answer), and
// three times without: the KL examples (each prompt with another row's answer) under the policy, and both
// under the reference (ReferenceModel: for LoRA the base with the adapter switched off). The KL estimate is the mean of
// policy − reference over the KL examples, clamped at 0 and held constant; then, per answer,
//   desirable    w_d · (1 − σ(β(π − ρ − KL)))        undesirable    w_u · (1 − σ(β(KL − (π − ρ))))
// (w_d, w_u: kto_chosen_weight, kto_rejected_weight), the mean over the micro-batch, plus pref_ftx times the
// desirable answers' SFT loss rescaled as LLaMA-Factory does (its mean / desirable count × batch size).
// Metrics as LLaMA-Factory logs them: sums and counts per micro-batch, averaged over the logging window
// (rewards/chosen, rewards/rejected, logps/…, rewards/margins); kl is the window's sum of batch estimates.
import FactoryData
import FactoryEngine
import Foundation

/// Stage kto's data and settings.
public struct KTOData {
    public let train: [FeedbackExample]
    public let eval: [FeedbackExample]
    /// pref_beta
    public var beta = 0.1
    /// kto_chosen_weight, kto_rejected_weight
    public var desirableWeight = 1.0, undesirableWeight = 1.0
    /// pref_ftx
    public var ftx = 0.0
    /// Where the reference log-probabilities come from.
    public var reference = ReferenceModel.adapterOff

    public init(train: [FeedbackExample], eval: [FeedbackExample]) { (self.train, self.eval) = (train, eval) }
}

extension Trainer {
    func ktoStep(_ step: Int, _ data: KTOData) throws -> StepRecord {
        let started = Date()
        let micro = plan.microBatches(ofStep: step)
        var loss = 0.0, tokens = 0
        var metrics: [String: Double] = [:]
        for (m, indices) in micro.enumerated() {
            TrainingRandomness.seed = microBatchSeed(step: step, micro: m)
            defer { TrainingRandomness.seed = nil }
            let (l, batchMetrics, batchTokens) = try ktoLoss(indices.map { data.train[$0] }, data) {
                try referenceCache.values(for: indices) { batch in try ktoReference(batch.map { data.train[$0] }, data) }
            }
            loss += Double(l.data[0]) / Double(micro.count)
            tokens += batchTokens
            for (k, v) in batchMetrics { metrics[k, default: 0] += v }
            GradMode.backwardFailure = nil
            l.backward(Tensor(shape: [1], values: [1 / Float(micro.count)]))
            if let failure = GradMode.backwardFailure { throw TrainingError("step \(step + 1): backward failed: \(failure)") }
        }
        let (norm, lr) = try update(step)
        var record = StepRecord(step: step + 1, loss: loss, gradNorm: norm, learningRate: lr, tokens: tokens, seconds: Date().timeIntervalSince(started))
        record.metrics = metrics
        return record
    }

    /// The log-probabilities of `rows`' answers under the policy, or under the reference model.
    func ktoLogProbs(_ rows: [EncodedExample], _ data: KTOData, reference: Bool) throws -> (Tensor, SequenceTargets) {
        let batch = MicroBatch(rows, padID: padID)
        let targets = SequenceTargets(labels: batch.labels, seq: batch.seq, softcap: adapted.model.finalLogitSoftcap)
        return (try answerLogProbs(batch, targets, under: reference ? data.reference : nil), targets)
    }

    /// The reference model's log-probabilities of each example's (answer, KL example), without gradients.
    func ktoReference(_ examples: [FeedbackExample], _ data: KTOData) throws -> [(Float, Float)] {
        let (target, kl) = try GradMode.disabled {
            (try ktoLogProbs(examples.map(\.target), data, reference: true).0.values, try ktoLogProbs(examples.map(\.kl), data, reference: true).0.values)
        }
        return Array(zip(target, kl))
    }

    /// One micro-batch: the recorded loss, its summed metrics (sums, counts, kl), the real tokens.
    /// `reference` gives ktoReference's values (or kept ones: ReferenceCache).
    func ktoLoss(_ examples: [FeedbackExample], _ data: KTOData, reference: () throws -> [(Float, Float)]) throws -> (Tensor, [String: Double], Int) {
        let (policy, targets) = try ktoLogProbs(examples.map(\.target), data, reference: false)
        let policyKL = try GradMode.disabled { try ktoLogProbs(examples.map(\.kl), data, reference: false).0.values }
        let referenceValues = try reference()
        let (referenceTarget, referenceKL) = (referenceValues.map(\.0), referenceValues.map(\.1))
        let n = examples.count
        let kl = max(0, zip(policyKL, referenceKL).reduce(0.0) { $0 + Double($1.0) - Double($1.1) } / Double(n))
        let pv = policy.values, lengths = targets.lengths, beta = data.beta
        let desirable = examples.map(\.desirable), chosenCount = desirable.filter { $0 }.count
        var total = 0.0
        var grads = [Float](repeating: 0, count: n)
        var metrics: [String: Double] = ["kl": kl]
        for i in 0..<n {
            let ratio = Double(pv[i]) - Double(referenceTarget[i])
            let split = desirable[i] ? "chosen" : "rejected"
            let weight = desirable[i] ? data.desirableWeight : data.undesirableWeight
            let x = desirable[i] ? beta * (ratio - kl) : beta * (kl - ratio)
            let s = PreferenceLoss.sigmoid(x)
            total += weight * (1 - s)
            // d/dπ of w(1 − σ(x)): −w σ(x)(1 − σ(x)) · dx/dπ, dx/dπ = β (desirable) or −β
            grads[i] = Float(-weight * s * (1 - s) * (desirable[i] ? beta : -beta) / Double(n))
            metrics["rewards/\(split)_sum", default: 0] += beta * ratio
            metrics["logps/\(split)_sum", default: 0] += Double(pv[i])
            metrics["count/\(split)", default: 0] += 1
        }
        var loss = total / Double(n)
        if data.ftx > 1e-6 && chosenCount > 0 {  // LLaMA-Factory: ftx · mean(−π/length over desirable) / desirable count × batch size
            let scale = data.ftx * Double(n) / Double(chosenCount * chosenCount)
            for i in 0..<n where desirable[i] {
                let length = Double(max(lengths[i], 1))
                loss += scale * -Double(pv[i]) / length
                grads[i] += Float(-scale / length)
            }
        }
        let out = Tensor(shape: [1], values: [Float(loss)])
        let recorded = recordCustom(out, name: "kto_loss", inputs: [policy]) { g in
            let scale = g.contiguous().data[0]
            return [Tensor(shape: [n], values: grads.map { $0 * scale })]
        }
        return (recorded, metrics, examples.reduce(0) { $0 + $1.target.inputIDs.count })
    }

    /// The KTO loss over the evaluation examples (each batch's weighted by its size, as transformers averages)
    /// and the metrics combined over all batches, as LLaMA-Factory logs them with eval_.
    func evaluateKTO(_ data: KTOData) throws -> (Double, [String: Double]) {
        try GradMode.disabled {
            var total = 0.0
            var metrics: [String: Double] = [:]
            for start in stride(from: 0, to: data.eval.count, by: args.evalBatchSize) {
                let batch = Array(data.eval[start..<min(data.eval.count, start + args.evalBatchSize)])
                let (loss, m, _) = try ktoLoss(batch, data) { try evalReferenceCache.values(batchStart: start) { try ktoReference(batch, data) } }
                total += Double(loss.data[0]) * Double(batch.count)
                for (k, v) in m { metrics[k, default: 0] += v }
            }
            return (data.eval.isEmpty ? 0 : total / Double(data.eval.count), TrainerLog.combine([metrics]))
        }
    }
}
