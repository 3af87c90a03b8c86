// One answer of the served model, computed on the model worker: the chat prompt rendered with the run's
// template (the config's `template`, else the model's own, as `factory chat`), or a raw prompt tokenized as
// `factory generate --prompt` does; decoded with the request's sampling and stop sequences.
import FactoryPipeline

/// How one choice ended, and what it cost.
struct CompletionResult {
    let finishReason: String
    let promptTokens: Int
    let completionTokens: Int
}

/// The served model and what answering needs. Used on the model worker's thread only.
final class Completer: @unchecked Sendable {
    let model: LoadedModel
    let renderer: ChatRenderer
    let defaults: SamplingOptions
    /// The plugins the model runs on, kept loaded.
    let keepAlive: AnyObject

    init(session: ChatSession, keepAlive: AnyObject) {
        (model, renderer, defaults, self.keepAlive) = (session.model, session.renderer, session.options, keepAlive)
    }

    /// Choice `index` of `request`: each piece of text goes to `emit` (stop sequences held back and cut);
    /// `cancelled` is asked after each token (a client that went away).
    func complete(_ request: GenerationRequest, index: Int, cancelled: () -> Bool, emit: (String) -> Void) throws -> CompletionResult {
        let tokenizer = model.tokenizer
        let prompt: [Int]
        var stopIDs = model.stopIDs
        var stopWords = request.stop
        if let messages = request.messages {
            prompt = try tokenizer.encode(try renderer.prompt(messages))
            for word in renderer.stopWords {
                if let id = tokenizer.id(of: word) { stopIDs.insert(id) } else { stopWords.append(word) }
            }
        } else {
            prompt = try tokenizer.encode(request.prompt, addSpecialTokens: true)
        }
        var options = request.sampling
        options.seed &+= UInt64(index)
        var filter = StopTextFilter(stops: stopWords)
        let ids = try Generator(model: model).generate(prompt: prompt, options: options, stopIDs: stopIDs, stopStrings: stopWords) { _, piece in
            let out = filter.feed(piece)
            if !out.isEmpty { emit(out) }
            return !filter.stopped && !cancelled()
        }
        if !filter.stopped { let rest = filter.finish(); if !rest.isEmpty { emit(rest) } }
        let hitLimit = !filter.stopped && ids.count >= options.maxNewTokens
        return CompletionResult(finishReason: hitLimit ? "length" : "stop", promptTokens: prompt.count, completionTokens: ids.count)
    }
}
