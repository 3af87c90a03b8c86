// Reference log-probabilities kept once computed. The reference model never trains, so an example's
// reference values are the same every epoch; a run that sees its examples more than once (LLaMA-Factory's
// default is 3 epochs) computes them in the first epoch, batch by batch as it goes, and reads them after.
// Measured on SmolLM2 (bench/dpo.sh): the reference pass is about a third of a DPO step, so epochs 2 and
// on take a third less time; a run of one epoch or less computes each batch's as before, with nothing
// kept (a pass over the whole dataset up front would only move the work, and would do too much of it
// when max_steps ends the run inside the first epoch).
//
// Resuming keeps runs bit-identical: a value the cache lacks (the run before the checkpoint computed it)
// is computed again with the micro-batch of the first epoch that held its example — the very batch, so
// the very bits, of the uninterrupted run. Evaluation batches are always the same, so their values are
// kept whenever there is an evaluation set.

/// The reference values of a stage's examples, two per example (dpo: chosen and rejected answer; kto: the
/// answer and its KL example), kept by example index.
final class ReferenceCache {
    /// Whether values are kept: the run sees its examples more than once.
    let keeps: Bool
    private var values: [Int: (Float, Float)] = [:]
    /// The first epoch's micro-batches, and the one each example is in.
    private let firstEpoch: [[Int]]
    private var batchOfExample: [Int: Int] = [:]

    init(plan: BatchPlan, totalSteps: Int) {
        keeps = totalSteps > plan.stepsPerEpoch
        firstEpoch = keeps ? plan.microBatches(ofEpoch: 0) : []
        for (b, batch) in firstEpoch.enumerated() { for i in batch { batchOfExample[i] = b } }
    }

    /// The values of the examples `indices` (a micro-batch, in order). Without keeping, `compute(indices)`.
    /// Else the kept ones, after computing any missing one's first-epoch micro-batch with `compute` (which
    /// gets example indices and returns their values in that order).
    func values(for indices: [Int], compute: ([Int]) throws -> [(Float, Float)]) throws -> [(Float, Float)] {
        guard keeps else { return try compute(indices) }
        for i in indices where values[i] == nil {
            let batch = batchOfExample[i].map { firstEpoch[$0] } ?? [i]
            for (j, v) in zip(batch, try compute(batch)) { values[j] = v }
        }
        return try indices.map { i in
            guard let v = values[i] else { throw TrainingError("reference log-probabilities: example \(i) was not computed") }
            return v
        }
    }
}

/// The reference values of the evaluation batches, by their first example's index: every evaluation runs
/// the same batches.
final class EvalReferenceCache {
    private var values: [Int: [(Float, Float)]] = [:]

    func values(batchStart: Int, compute: () throws -> [(Float, Float)]) rethrows -> [(Float, Float)] {
        if let kept = values[batchStart] { return kept }
        let computed = try compute()
        values[batchStart] = computed
        return computed
    }
}
