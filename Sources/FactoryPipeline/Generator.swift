import FactoryConfig
import FactoryEngine
import FactoryHost
#if canImport(Glibc)
import Glibc
#endif

/// How to pick the next token (LLaMA-Factory's generating arguments).
public struct SamplingOptions: Sendable {
    public var doSample = true
    public var temperature: Float = 0.95
    public var topP: Float = 0.7
    public var topK = 50
    public var repetitionPenalty: Float = 1.0
    public var maxNewTokens = 1024
    public var seed: UInt64 = 42
    /// Keep going past EOS and stop strings (benchmarks, tests).
    public var ignoreEOS = false
    /// OpenAI's penalties: each token's logit minus presence · [it was generated] and frequency · (times
    /// it was generated), over the tokens generated so far (not the prompt).
    public var presencePenalty: Float = 0
    public var frequencyPenalty: Float = 0
    public init() {}
}

/// Decoding with a KV cache: one prefill of the prompt, then one token per
/// step. Greedy takes the argmax; sampling applies the repetition penalty,
/// temperature, top-k and top-p in transformers' order, with a seeded generator.
public final class Generator {
    public let model: LoadedModel
    public init(model: LoadedModel) { self.model = model }

    /// Generates after `prompt`; `onToken(id, newText)` streams each token's text
    /// and returns false to stop. Returns the new ids (stop token excluded).
    @discardableResult
    public func generate(prompt: [Int], options: SamplingOptions, stopIDs: Set<Int>, stopStrings: [String] = [],
                         onToken: (Int, String) -> Bool = { _, _ in true }) throws -> [Int] {
        guard !prompt.isEmpty else { throw ConfigProblem("the prompt is empty") }
        var options = options
        let context = model.contextLength
        if context > 0 {
            guard prompt.count < context else {
                throw ConfigProblem("the prompt has \(prompt.count) tokens, the model's context is \(context): shorten it")
            }
            options.maxNewTokens = min(options.maxNewTokens, context - prompt.count)
        }
        let cache = KVCache(layers: model.layers, capacity: prompt.count + options.maxNewTokens)
        var rng = SplitMix64(seed: options.seed)
        var history = prompt
        var generated: [Int] = []
        var text = ""
        var emitted = 0  // unicode scalars of `text` already streamed
        var logits = try lastLogits(prompt, start: 0, cache: cache)
        var counts: [Int: Int] = [:]  // generated tokens, for the presence and frequency penalties
        while generated.count < options.maxNewTokens {
            // transformers applies the repetition penalty before choosing, in greedy decoding as in sampling
            var scores = penalized(logits, history: history, penalty: options.repetitionPenalty)
            if options.presencePenalty != 0 || options.frequencyPenalty != 0 {
                for (id, n) in counts where id < scores.count { scores[id] -= options.presencePenalty + options.frequencyPenalty * Float(n) }
            }
            let next = options.doSample ? sample(scores, options: options, rng: &rng) : argmax(scores)
            if !options.ignoreEOS && stopIDs.contains(next) { break }
            generated.append(next)
            history.append(next)
            counts[next, default: 0] += 1
            // Stream only complete characters: a token may end inside a UTF-8 sequence.
            let full = model.tokenizer.decode(generated, skipSpecial: false)
            var newText = ""
            if !full.hasSuffix("\u{FFFD}") {
                var scalars = String.UnicodeScalarView()
                scalars.append(contentsOf: full.unicodeScalars.dropFirst(emitted))
                newText = String(scalars)
                emitted = full.unicodeScalars.count
                text = full
            }
            if !onToken(next, newText) { break }
            if !options.ignoreEOS, stopStrings.contains(where: { !$0.isEmpty && text.hasSuffix($0) }) { break }
            if generated.count == options.maxNewTokens { break }
            logits = try lastLogits([next], start: history.count - 1, cache: cache)
        }
        return generated
    }

    /// Logits of the last position after feeding `ids` at positions start..<start+count.
    func lastLogits(_ ids: [Int], start: Int, cache: KVCache) throws -> [Float] {
        let out = try GradMode.disabled {
            try model.forward(ids: ids, batch: 1, seq: ids.count, positions: Array(start..<(start + ids.count)), cache: cache)
        }
        let V = out.shape[out.rank - 1]
        let c = out.contiguous()
        return Array(UnsafeBufferPointer(start: c.data + (ids.count - 1) * V, count: V))
    }

    func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    /// transformers' RepetitionPenaltyLogitsProcessor: every token already in the sequence (prompt included)
    /// has its logit divided by `penalty` when positive, multiplied when negative.
    func penalized(_ raw: [Float], history: [Int], penalty: Float) -> [Float] {
        guard penalty != 1 else { return raw }
        var logits = raw
        for id in Set(history) where id >= 0 && id < logits.count {
            logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty
        }
        return logits
    }

    func sample(_ logits: [Float], options: SamplingOptions, rng: inout SplitMix64) -> Int {
        let t = max(options.temperature, 1e-5)
        var candidates = logits.enumerated().map { ($0.offset, $0.element / t) }.sorted { $0.1 > $1.1 }
        if options.topK > 0 && options.topK < candidates.count { candidates = Array(candidates.prefix(options.topK)) }
        let m = candidates[0].1
        var probs = candidates.map { expf($0.1 - m) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if options.topP < 1 {
            var cumulative: Float = 0, keep = 0
            for p in probs {
                cumulative += p
                keep += 1
                if cumulative >= options.topP { break }
            }
            candidates = Array(candidates.prefix(keep))
            probs = Array(probs.prefix(keep))
            let s = probs.reduce(0, +)
            probs = probs.map { $0 / s }
        }
        var r = Float(rng.nextUnit())
        for (i, p) in probs.enumerated() {
            r -= p
            if r <= 0 { return candidates[i].0 }
        }
        return candidates[candidates.count - 1].0
    }
}

extension SamplingOptions {
    /// LLaMA-Factory's generating keys from a run config.
    public init(_ config: RunConfig) {
        self.init()
        if let v = config.bool("do_sample") { doSample = v }
        if let v = config.double("temperature") { temperature = Float(v) }
        if let v = config.double("top_p") { topP = Float(v) }
        if let v = config.int("top_k") { topK = v }
        if let v = config.double("repetition_penalty") { repetitionPenalty = Float(v) }
        if let v = config.int("max_new_tokens") { maxNewTokens = v }
        if let v = config.int("seed") { seed = UInt64(truncatingIfNeeded: v) }
        if temperature == 0 { doSample = false }
    }
}

