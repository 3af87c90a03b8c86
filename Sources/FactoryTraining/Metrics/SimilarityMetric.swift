// LLaMA-Factory's ComputeSimilarity (train/sft/metric.py): how `predict_with_generate` scores each decoded
// prediction against its label, and the averages it reports as predict_bleu-4 and predict_rouge-1/2/l.

/// One prediction's scores, each ×100 and rounded to 4 decimals as LLaMA-Factory stores them.
public struct SimilarityScores: Equatable, Sendable {
    public var rouge1: Double, rouge2: Double, rougeL: Double, bleu4: Double
    /// LLaMA-Factory's metric names, in its order.
    public static let names = ["rouge-1", "rouge-2", "rouge-l", "bleu-4"]
    public var values: [Double] { [rouge1, rouge2, rougeL, bleu4] }
}

/// The metric: ROUGE F-scores over jieba's words (zero when either text has no word), sentence BLEU-4 over
/// characters with smoothing method 3 — natively, equal to the Python packages' results.
public struct SimilarityMetric: Sendable {
    public let segmenter: JiebaSegmenter

    public init(segmenter: JiebaSegmenter) { self.segmenter = segmenter }

    public func score(prediction: String, label: String) -> SimilarityScores {
        let hypothesis = segmenter.cut(prediction).joined(separator: " ")
        let reference = segmenter.cut(label).joined(separator: " ")
        var rouge = ChineseRouge.Scores(rouge1: 0, rouge2: 0, rougeL: 0)
        if !PythonArithmetic.splitOnSpace(Array(hypothesis.unicodeScalars)).isEmpty,
           !PythonArithmetic.splitOnSpace(Array(reference.unicodeScalars)).isEmpty {
            rouge = ChineseRouge.scores(hypothesis: hypothesis, reference: reference)
        }
        let bleu = SentenceBLEU.score(hypothesis: Array(prediction.unicodeScalars), reference: Array(label.unicodeScalars))
        func stored(_ x: Double) -> Double { PythonArithmetic.round(x * 100, digits: 4) }
        return SimilarityScores(rouge1: stored(rouge.rouge1), rouge2: stored(rouge.rouge2), rougeL: stored(rouge.rougeL), bleu4: stored(bleu))
    }

    /// What LLaMA-Factory reports: numpy's mean of each metric over the predictions, by name.
    public static func means(_ scores: [SimilarityScores]) -> [(name: String, value: Double)] {
        SimilarityScores.names.indices.map { k in (SimilarityScores.names[k], PythonArithmetic.numpyMean(scores.map { $0.values[k] })) }
    }
}
