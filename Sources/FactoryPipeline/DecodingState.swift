import FactoryEngine
import FactoryTokenizers
#if canImport(Glibc)
import Glibc
#endif

/// One sequence's decoding after its prompt: the penalties, the choice of each next token (argmax, or
/// sampling with the sequence's own seeded generator: temperature, top-k, top-p in transformers' order),
/// the stop rules and the text streamed so far. The Generator (one sequence) and the BatchDecoder (many
/// at once) share it, so that a sequence decodes the same whether it runs alone or in a batch.
public struct DecodingState {
    public let options: SamplingOptions
    let stopIDs: Set<Int>
    let stopStrings: [String]
    let tokenizer: Tokenizer
    private var rng: SplitMix64
    /// Prompt and generated tokens (the repetition penalty reads them all).
    private var history: [Int]
    /// The tokens generated so far (a stop token excluded).
    public private(set) var generated: [Int] = []
    /// Generated tokens by count, for the presence and frequency penalties.
    private var counts: [Int: Int] = [:]
    private var text = ""
    private var emitted = 0  // unicode scalars of `text` already streamed
    /// Ended: a stop token or stop string, or max_new_tokens reached.
    public private(set) var finished = false

    /// `options.maxNewTokens` is cut to what the model's context leaves after the prompt.
    public init(prompt: [Int], options: SamplingOptions, stopIDs: Set<Int>, stopStrings: [String], model: LoadedModel) throws {
        guard !prompt.isEmpty else { throw ConfigProblem("the prompt is empty") }
        var options = options
        let context = model.contextLength
        if context > 0 {
            guard prompt.count < context else {
                throw ConfigProblem("the prompt has \(prompt.count) tokens, the model's context is \(context): shorten it")
            }
            options.maxNewTokens = min(options.maxNewTokens, context - prompt.count)
        }
        (self.options, self.stopIDs, self.stopStrings, tokenizer) = (options, stopIDs, stopStrings, model.tokenizer)
        rng = SplitMix64(seed: options.seed)
        history = prompt
        finished = options.maxNewTokens <= 0
    }

    /// Tokens so far, prompt included: the position the next token is fed at is length − 1.
    public var length: Int { history.count }

    /// Chooses the next token from the logits of the last position; nil when it is a stop token (the
    /// sequence ends). Else the token and its new text: only complete characters are streamed, since a
    /// token may end inside a UTF-8 sequence.
    public mutating func step(_ logits: [Float]) -> (Int, String)? {
        guard !finished else { return nil }
        // transformers applies the repetition penalty before choosing, in greedy decoding as in sampling
        var scores = Self.penalized(logits, history: history, penalty: options.repetitionPenalty)
        if options.presencePenalty != 0 || options.frequencyPenalty != 0 {
            for (id, n) in counts where id < scores.count { scores[id] -= options.presencePenalty + options.frequencyPenalty * Float(n) }
        }
        let next = options.doSample ? Self.sample(scores, options: options, rng: &rng) : Self.argmax(scores)
        if !options.ignoreEOS && stopIDs.contains(next) {
            finished = true
            return nil
        }
        generated.append(next)
        history.append(next)
        counts[next, default: 0] += 1
        let full = tokenizer.decode(generated, skipSpecial: false)
        var newText = ""
        if !full.hasSuffix("\u{FFFD}") {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: full.unicodeScalars.dropFirst(emitted))
            newText = String(scalars)
            emitted = full.unicodeScalars.count
            text = full
        }
        if generated.count >= options.maxNewTokens || (!options.ignoreEOS && stopStrings.contains(where: { !$0.isEmpty && text.hasSuffix($0) })) {
            finished = true
        }
        return (next, newText)
    }

    /// Ends the sequence early (its consumer stopped it).
    public mutating func finish() { finished = true }

    static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    /// transformers' RepetitionPenaltyLogitsProcessor: every token already in the sequence (prompt included)
    /// has its logit divided by `penalty` when positive, multiplied when negative.
    static func penalized(_ raw: [Float], history: [Int], penalty: Float) -> [Float] {
        guard penalty != 1 else { return raw }
        var logits = raw
        for id in Set(history) where id >= 0 && id < logits.count {
            logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty
        }
        return logits
    }

    static func sample(_ logits: [Float], options: SamplingOptions, rng: inout SplitMix64) -> Int {
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
