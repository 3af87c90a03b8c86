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
        var state = try DecodingState(prompt: prompt, options: options, stopIDs: stopIDs, stopStrings: stopStrings, model: model)
        let cache = KVCache(layers: model.layers, capacity: prompt.count + state.options.maxNewTokens)
        var logits = try lastLogits(prompt, start: 0, cache: cache)
        while !state.finished {
            guard let (next, piece) = state.step(logits) else { break }
            if !onToken(next, piece) || state.finished { break }
            logits = try lastLogits([next], start: state.length - 1, cache: cache)
        }
        return state.generated
    }

    /// Logits of the last position after feeding `ids` at positions start..<start+count.
    func lastLogits(_ ids: [Int], start: Int, cache: KVCache) throws -> [Float] {
        let out = try PackedWeight.generating {
            try model.forward(ids: ids, batch: 1, seq: ids.count, positions: Array(start..<(start + ids.count)), cache: cache)
        }
        let V = out.shape[out.rank - 1]
        let c = out.contiguous()
        return Array(UnsafeBufferPointer(start: c.data + (ids.count - 1) * V, count: V))
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

