// do_eval without training: the loss, token accuracy and perplexity of a model over encoded examples, as the
// Hugging Face Trainer's evaluate() and LLaMA-Factory's ComputeAccuracy report them.
import FactoryData
import FactoryEngine
import FactoryPipeline
import Foundation

/// One example's labelled positions: the summed negative log-likelihood, how many, how many argmaxes hit.
struct ExampleScore {
    var nll = 0.0, tokens = 0, correct = 0
}

/// The Trainer's evaluation numbers over a set of examples.
public struct TokenEvaluation {
    /// eval_loss: each batch's mean over its labelled tokens, averaged over the batches weighted by their
    /// examples (the Trainer repeats each batch's loss once per example and takes the mean).
    public let loss: Double
    /// eval_accuracy (compute_accuracy): per example the share of labelled positions whose argmax is the
    /// label, averaged over the examples (LLaMA-Factory's ComputeAccuracy).
    public let accuracy: Double
    public let examples: Int, tokens: Int, batches: Int
    public var perplexity: Double { exp(loss) }

    /// Scores `examples` with `model` one at a time (batch_size only groups them as the Trainer's batches
    /// would; each example's numbers do not depend on its batch); `progress(done)` after each.
    public static func run(_ examples: [EncodedExample], model: LoadedModel, batchSize: Int,
                           progress: (Int) -> Void = { _ in }) throws -> TokenEvaluation {
        var scores: [ExampleScore] = []
        for (i, e) in examples.enumerated() {
            if model.contextLength > 0 && e.inputIDs.count > model.contextLength {
                throw TrainingError("eval example \(i + 1) has \(e.inputIDs.count) tokens, the model's context is \(model.contextLength); lower cutoff_len")
            }
            scores.append(try score(e, model: model))
            progress(i + 1)
        }
        var weighted = 0.0, batches = 0, accuracies: [Double] = []
        for start in stride(from: 0, to: scores.count, by: max(batchSize, 1)) {
            let batch = scores[start..<min(scores.count, start + batchSize)]
            let tokens = batch.reduce(0) { $0 + $1.tokens }
            weighted += tokens == 0 ? 0 : batch.reduce(0.0) { $0 + $1.nll } / Double(tokens) * Double(batch.count)
            batches += 1
        }
        for s in scores where s.tokens > 0 { accuracies.append(Double(s.correct) / Double(s.tokens)) }
        guard scores.contains(where: { $0.tokens > 0 }) else { throw TrainingError("nothing to evaluate: every label of the eval examples is masked") }
        return TokenEvaluation(loss: weighted / Double(max(scores.count, 1)), accuracy: PythonArithmetic.numpyMean(accuracies),
                               examples: scores.count, tokens: scores.reduce(0) { $0 + $1.tokens }, batches: batches)
    }

    /// The logits at the positions before each label: log-sum-exp minus the label's logit, and the argmax
    /// (the first of equal maxima, as torch.argmax).
    static func score(_ e: EncodedExample, model: LoadedModel) throws -> ExampleScore {
        var result = ExampleScore()
        guard e.labels.dropFirst().contains(where: { $0 != -100 }) else { return result }
        let logits = try model.logits(e.inputIDs).contiguous()
        let V = logits.shape[1]
        for t in 0..<(e.inputIDs.count - 1) where e.labels[t + 1] != -100 {
            let row = UnsafeBufferPointer(start: logits.data + t * V, count: V)
            var best = 0, top = row[0]
            for v in 1..<V where row[v] > top { (best, top) = (v, row[v]) }
            var sum = 0.0
            for v in 0..<V { sum += exp(Double(row[v] - top)) }
            let label = e.labels[t + 1]
            guard label >= 0, label < V else { throw TrainingError("label id \(label) is outside the model's vocabulary of \(V)") }
            result.nll += Double(top) + log(sum) - Double(row[label])
            result.tokens += 1
            if best == label { result.correct += 1 }
        }
        return result
    }
}
