// One answer of the served model, computed on the model worker: the chat prompt rendered with the run's
// template (the config's `template`, else the model's own, as `factory chat`), or a raw prompt tokenized as
// `factory generate --prompt` does; decoded with the request's sampling and stop sequences — in the batch
// decoder beside the other requests' choices, or alone when the model family cannot batch — and read back
// by the template's answer format into reasoning, content and tool calls.
import FactoryEngine
import FactoryHost
import FactoryPipeline

/// How one choice ended, what it said, and what it cost.
struct CompletionResult {
    let finishReason: String
    let promptTokens: Int
    let completionTokens: Int
    /// The answer read back: reasoning, content, tool calls.
    let reasoning: String
    let content: String
    let calls: [AnswerReader.Call]
}

/// One choice of one request, as the worker schedules it: its answer goes to `emit` as reasoning, content
/// and tool-call events (stop sequences held back and cut), `cancelled` is asked after each token (a client
/// that went away), `finish` hears the end. Its closures are called on the model worker's thread.
struct ChoiceJob {
    let request: GenerationRequest
    let index: Int
    /// The adapter the request's model names (0: the base as configured).
    let adapter: Int
    let cancelled: () -> Bool
    let emit: (AnswerReader.Event) -> Void
    let finish: (Result<CompletionResult, Error>) -> Void
}

/// The served model and what answering needs. Used on the model worker's thread only.
final class Completer: @unchecked Sendable {
    let model: LoadedModel
    let renderer: ChatRenderer
    let defaults: SamplingOptions
    /// The plugins the model runs on, kept loaded.
    let keepAlive: AnyObject

    /// How the template's answers read back; nil when it declares nothing (no tools then).
    let answerFormat: AnswerFormat?

    /// The adapters served over the base, by name (api_adapters); the i-th is RowAdapters index i + 1.
    let adapters: [String]

    /// Fails when the template's answer format is malformed.
    init(session: ChatSession, keepAlive: AnyObject, adapters: [String] = []) throws {
        (model, renderer, defaults, self.keepAlive, self.adapters) = (session.model, session.renderer, session.options, keepAlive, adapters)
        answerFormat = try session.renderer.answerFormat()
    }

    /// What decoding `job` needs.
    private struct Prepared {
        let prompt: [Int]
        let options: SamplingOptions
        let stopIDs: Set<Int>
        let stopWords: [String]
    }

    private func prepare(_ job: ChoiceJob) throws -> Prepared {
        let tokenizer = model.tokenizer
        let prompt: [Int]
        var stopIDs = model.stopIDs
        var stopWords = job.request.stop
        if let messages = job.request.messages {
            prompt = try tokenizer.encode(try renderer.prompt(messages, tools: job.request.tools))
            for word in renderer.stopWords {
                if let id = tokenizer.id(of: word) { stopIDs.insert(id) } else { stopWords.append(word) }
            }
        } else {
            prompt = try tokenizer.encode(job.request.prompt, addSpecialTokens: true)
        }
        var options = job.request.sampling
        options.seed &+= UInt64(job.index)
        return Prepared(prompt: prompt, options: options, stopIDs: stopIDs, stopWords: stopWords)
    }

    /// The text side of one choice: stop sequences, the answer's reading, cancellation, the finish reason.
    private final class Output {
        var filter: StopTextFilter
        var reader: AnswerReader
        let job: ChoiceJob
        init(_ job: ChoiceJob, stops: [String], format: AnswerFormat?) {
            (self.job, filter) = (job, StopTextFilter(stops: stops))
            reader = AnswerReader(format: job.request.messages == nil ? nil : format, readsCalls: job.request.readsToolCalls)
        }

        /// Whether decoding goes on after `piece`.
        func take(_ piece: String) -> Bool {
            let out = filter.feed(piece)
            if !out.isEmpty { reader.feed(out).forEach(job.emit) }
            return !filter.stopped && !job.cancelled()
        }

        func end(_ ids: Result<[Int], Error>, prepared: Prepared) {
            job.finish(ids.map { ids in
                if !filter.stopped { let rest = filter.finish(); if !rest.isEmpty { reader.feed(rest).forEach(job.emit) } }
                reader.finish().forEach(job.emit)
                let hitLimit = !filter.stopped && ids.count >= prepared.options.maxNewTokens
                return CompletionResult(finishReason: hitLimit ? "length" : reader.calls.isEmpty ? "stop" : "tool_calls", promptTokens: prepared.prompt.count,
                                        completionTokens: ids.count, reasoning: reader.reasoning, content: reader.content, calls: reader.calls)
            })
        }
    }

    /// Starts `job` in `decoder` (it joins the batch; its end is reported from a later step).
    func start(_ job: ChoiceJob, in decoder: BatchDecoder) {
        do {
            let prepared = try prepare(job)
            let output = Output(job, stops: prepared.stopWords, format: answerFormat)
            decoder.add(prompt: prepared.prompt, options: prepared.options, stopIDs: prepared.stopIDs, stopStrings: prepared.stopWords, adapter: job.adapter,
                        callbacks: .init(onToken: { _, piece in output.take(piece) }, onEnd: { output.end($0, prepared: prepared) }))
        } catch {
            job.finish(.failure(error))
        }
    }

    /// Decodes `job` alone, to its end (a model family without forward_rows).
    func runAlone(_ job: ChoiceJob) {
        do {
            let prepared = try prepare(job)
            let output = Output(job, stops: prepared.stopWords, format: answerFormat)
            RowAdapters.indices = job.adapter == 0 ? nil : [job.adapter]
            defer { RowAdapters.indices = nil }
            let ids = Result {
                try Generator(model: model).generate(prompt: prepared.prompt, options: prepared.options, stopIDs: prepared.stopIDs,
                                                     stopStrings: prepared.stopWords) { _, piece in output.take(piece) }
            }
            output.end(ids, prepared: prepared)
        } catch {
            job.finish(.failure(error))
        }
    }
}
