// predict_with_generate's generation: every prompt decoded to its end, several at a time through one
// BatchDecoder (continuous batching: a finished prompt's row takes the next at once), each prompt's
// tokens the same as decoding it alone.
import FactoryEngine
import FactoryPipeline
import Foundation

/// Generates after each of `prompts`, in order; `progress(done, generatedTokens)` as prompts finish.
public enum BatchPrediction {
    public static func generate(_ prompts: [[Int]], model: LoadedModel, rows: Int, options: SamplingOptions, stopIDs: Set<Int>, stopStrings: [String],
                                progress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> [[Int]] {
        var results = [[Int]?](repeating: nil, count: prompts.count)
        var failure: (Int, Error)?
        var done = 0, tokens = 0
        guard let decoder = BatchDecoder(model: model, maxSequences: rows) else {  // a family without forward_rows: one at a time
            let generator = Generator(model: model)
            for (i, prompt) in prompts.enumerated() {
                do { results[i] = try generator.generate(prompt: prompt, options: options, stopIDs: stopIDs, stopStrings: stopStrings) } catch {
                    throw TrainingError("eval example \(i + 1): \(error)")
                }
                tokens += results[i]!.count
                progress(i + 1, tokens)
            }
            return results.map { $0! }
        }
        var next = 0
        while done < prompts.count {
            while decoder.hasRoom, next < prompts.count, failure == nil {
                let index = next
                next += 1
                decoder.add(prompt: prompts[index], options: options, stopIDs: stopIDs, stopStrings: stopStrings, callbacks: .init(
                    onToken: { _, _ in true },
                    onEnd: { outcome in
                        switch outcome {
                        case .success(let ids): results[index] = ids
                        case .failure(let error): failure = failure ?? (index, error)
                        }
                        done += 1
                        tokens += results[index]?.count ?? 0
                        progress(done, tokens)
                    }))
            }
            if let (index, error) = failure { throw TrainingError("eval example \(index + 1): \(error)") }
            decoder.step()
        }
        if let (index, error) = failure { throw TrainingError("eval example \(index + 1): \(error)") }
        return results.map { $0 ?? [] }
    }
}
