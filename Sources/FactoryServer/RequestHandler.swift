// What each route does: authorization, reading the body, queueing the answer's choices on the model worker,
// and writing it back whole or as server-sent events in OpenAI's chunk format.
import FactoryHost
import FactoryJSON
import Foundation
import Hummingbird

/// The routes' shared state; every method is safe to call from the server's event loops.
struct RequestHandler: Sendable {
    let settings: APIServer.Settings
    let worker: ModelWorker
    let completer: Completer
    let metrics = ServerMetrics()

    func metricsText() -> Response {
        let load = worker.load
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(string: metrics.text(queueDepth: load.waiting, batchSize: load.decoding))))
    }

    func json(_ status: Int, _ body: JSON) -> Response {
        var buffer = ByteBuffer(string: body.serialized())
        buffer.writeString("\n")
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    func error(_ e: APIError) -> Response { json(e.status, e.json) }

    /// `body()` when the request carries the API key (or none is set), else 401.
    func authorized(_ request: Request, _ body: () throws -> Response) rethrows -> Response {
        guard let key = settings.apiKey else { return try body() }
        guard request.headers[.authorization] == "Bearer " + key else { return error(.unauthorized) }
        return try body()
    }

    /// The base model, then each adapter served over it.
    func models() -> Response {
        let created = JSON.int(Int64(Date().timeIntervalSince1970))
        let list = ([settings.modelName] + completer.adapters).map { name in
            JSON.object(JSONObject([("id", .string(name)), ("object", "model"), ("created", created), ("owned_by", "factory")]))
        }
        return json(200, .object(JSONObject([("object", "list"), ("data", .array(list))])))
    }

    /// POST /v1/chat/completions (`chat`) or /v1/completions.
    func generation(_ incoming: Request, chat: Bool) async -> Response {
        let started = Date()
        var request = incoming
        let path = request.uri.path
        if let key = settings.apiKey, request.headers[.authorization] != "Bearer " + key { return logged(error(.unauthorized), path, started) }
        var parsed: GenerationRequest
        do {
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: settings.maxBody) } catch { return logged(self.error(.tooLarge(settings.maxBody)), path, started) }
            let body: JSON
            do { body = try JSON.parse(bytes: Array(buffer.readableBytesView)) } catch { throw APIError.badRequest("the body is not valid JSON: \(error)") }
            parsed = try GenerationRequest(body, chat: chat, defaults: completer.defaults)
            if let model = parsed.model, model != settings.modelName {
                guard let i = completer.adapters.firstIndex(of: model) else { throw APIError.modelNotFound(model, served: [settings.modelName] + completer.adapters) }
                parsed.adapter = i + 1
            }
            if !parsed.tools.isEmpty && completer.answerFormat?.toolCalls == nil {
                throw APIError.badRequest("tools: the chat template declares no tool-call format to read calls back with; serve with a template that has one "
                                          + "(template: qwen, qwen3, llama3, mistral, chatml, …)", param: "tools")
            }
        } catch let e as APIError {
            return logged(error(e), path, started)
        } catch {
            return logged(self.error(.badRequest("\(error)")), path, started)
        }
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int64(Date().timeIntervalSince1970)
        return parsed.stream ? stream(parsed, chat: chat, id: id, created: created, path: path, started: started)
            : await whole(parsed, chat: chat, id: id, created: created, path: path, started: started)
    }

    /// The answer in one JSON body: every choice, then usage.
    func whole(_ request: GenerationRequest, chat: Bool, id: String, created: Int64, path: String, started: Date) async -> Response {
        let outcome: Result<[CompletionResult], Error> = await withCheckedContinuation { continuation in
            let group = ChoiceGroup(count: request.n)
            let jobs = (0..<request.n).map { index in
                ChoiceJob(request: request, index: index, adapter: request.adapter, cancelled: { false }, emit: { _ in }) { result in
                    guard let all = group.finished(index, result) else { return }
                    continuation.resume(returning: all)
                }
            }
            if !worker.submit(jobs) { continuation.resume(returning: .failure(APIError.busy)) }
        }
        switch outcome {
        case .failure(let e as APIError): return logged(error(e), path, started)
        case .failure(let e): return logged(error(.server("\(e)")), path, started)
        case .success(let choices):
            let prompt = choices.first?.promptTokens ?? 0, completion = choices.reduce(0) { $0 + $1.completionTokens }
            let list: [JSON] = choices.enumerated().map { index, choice in
                var c = JSONObject([("index", .int(Int64(index)))])
                if chat {
                    var message = JSONObject([("role", "assistant"), ("content", choice.calls.isEmpty || !choice.content.isEmpty ? .string(choice.content) : .null)])
                    if !choice.reasoning.isEmpty { message["reasoning_content"] = .string(choice.reasoning) }
                    if !choice.calls.isEmpty {
                        message["tool_calls"] = .array(choice.calls.map { call in
                            .object(JSONObject([("id", .string(Self.callID())), ("type", "function"),
                                                ("function", .object(JSONObject([("name", .string(call.name)), ("arguments", .string(call.arguments))])))]))
                        })
                    }
                    c["message"] = .object(message)
                } else {
                    c["text"] = .string(choice.content)
                }
                c["logprobs"] = .null
                c["finish_reason"] = .string(choice.finishReason)
                return .object(c)
            }
            let body = JSONObject([("id", .string(id)), ("object", .string(chat ? "chat.completion" : "text_completion")), ("created", .int(created)),
                                   ("model", .string(settings.modelName)), ("choices", .array(list)), ("usage", usage(prompt, completion))])
            return logged(json(200, .object(body)), path, started, tokens: completion, prompt: prompt)
        }
    }

    /// The answer as server-sent events: for each choice the role first (chat), a chunk per piece of text
    /// and its finish reason — choices interleaved as they decode together —, then the usage when asked,
    /// then [DONE]. A client that goes away cancels every choice at its next token.
    func stream(_ request: GenerationRequest, chat: Bool, id: String, created: Int64, path: String, started: Date) -> Response {
        let (events, continuation) = AsyncStream<String>.makeStream()
        let cancelled = CancelFlag()
        let name = settings.modelName, metrics = self.metrics
        func chunk(_ index: Int, delta: JSONObject?, text: String?, finish: String?) -> String {
            var choice = JSONObject([("index", .int(Int64(index)))])
            if chat { choice["delta"] = .object(delta ?? JSONObject()) } else { choice["text"] = .string(text ?? "") }
            choice["logprobs"] = .null
            choice["finish_reason"] = finish.map(JSON.string) ?? .null
            let body = JSONObject([("id", .string(id)), ("object", .string(chat ? "chat.completion.chunk" : "text_completion")), ("created", .int(created)),
                                   ("model", .string(name)), ("choices", .array([.object(choice)]))])
            return "data: " + JSON.object(body).serialized() + "\n\n"
        }
        let usageLine = { (prompt: Int, completion: Int) -> String in
            let body = JSONObject([("id", .string(id)), ("object", .string(chat ? "chat.completion.chunk" : "text_completion")), ("created", .int(created)),
                                   ("model", .string(name)), ("choices", .array([])), ("usage", usage(prompt, completion))])
            return "data: " + JSON.object(body).serialized() + "\n\n"
        }
        let group = ChoiceGroup(count: request.n)
        let jobs = (0..<request.n).map { index in
            ChoiceJob(request: request, index: index, adapter: request.adapter, cancelled: { cancelled.isSet }, emit: { event in
                switch event {
                case .content(let piece): continuation.yield(chunk(index, delta: JSONObject([("content", .string(piece))]), text: piece, finish: nil))
                case .reasoning(let piece): continuation.yield(chunk(index, delta: JSONObject([("reasoning_content", .string(piece))]), text: nil, finish: nil))
                case .callStart(let call, let name):
                    let function = JSONObject([("name", .string(name)), ("arguments", "")])
                    let delta = JSONObject([("index", .int(Int64(call))), ("id", .string(Self.callID())), ("type", "function"), ("function", .object(function))])
                    continuation.yield(chunk(index, delta: JSONObject([("tool_calls", .array([.object(delta)]))]), text: nil, finish: nil))
                case .callArguments(let call, let piece):
                    let delta = JSONObject([("index", .int(Int64(call))), ("function", .object(JSONObject([("arguments", .string(piece))])))])
                    continuation.yield(chunk(index, delta: JSONObject([("tool_calls", .array([.object(delta)]))]), text: nil, finish: nil))
                }
            }) { result in
                if case .success(let r) = result { continuation.yield(chunk(index, delta: JSONObject(), text: "", finish: r.finishReason)) }
                guard let all = group.finished(index, result) else { return }
                var prompt = 0, completion = 0
                switch all {
                case .success(let results):
                    prompt = results.first?.promptTokens ?? 0
                    completion = results.reduce(0) { $0 + $1.completionTokens }
                    if request.includeUsage { continuation.yield(usageLine(prompt, completion)) }
                    continuation.yield("data: [DONE]\n\n")
                case .failure(let error):
                    continuation.yield("data: " + APIError.server("\(error)").json.serialized() + "\n\n")
                }
                continuation.finish()
                metrics.record(path: path, status: 200, prompt: prompt, completion: completion)
                FileHandle.standardError.write(Data(String(format: "POST %@ 200 stream %d tokens %.2f s\n", path, completion, Date().timeIntervalSince(started)).utf8))
            }
        }
        if chat {  // each choice's role first (dropped unread if the queue refuses the request)
            for index in 0..<request.n { continuation.yield(chunk(index, delta: JSONObject([("role", "assistant"), ("content", "")]), text: nil, finish: nil)) }
        }
        guard worker.submit(jobs) else { return logged(error(.busy), path, started) }
        let body = ResponseBody { writer in
            do {
                for await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            } catch {
                cancelled.set()  // the client went away: its choices stop at their next token
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// A tool call's id, as OpenAI writes them.
    static func callID() -> String { "call_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24) }

    func usage(_ prompt: Int, _ completion: Int) -> JSON {
        .object(JSONObject([("prompt_tokens", .int(Int64(prompt))), ("completion_tokens", .int(Int64(completion))),
                            ("total_tokens", .int(Int64(prompt + completion)))]))
    }

    /// `response`, after one line on stderr.
    func logged(_ response: Response, _ path: String, _ started: Date, tokens: Int = 0, prompt: Int = 0) -> Response {
        metrics.record(path: path, status: Int(response.status.code), prompt: prompt, completion: tokens)
        FileHandle.standardError.write(Data(String(format: "POST %@ %d %d tokens %.2f s\n", path, response.status.code, tokens, Date().timeIntervalSince(started)).utf8))
        return response
    }
}

/// A flag one thread sets and another reads.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// The choices of one request as they end (on the model worker's thread): the results once every one has
/// ended.
final class ChoiceGroup: @unchecked Sendable {
    private var results: [Result<CompletionResult, Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    /// Records choice `index`'s end; when it was the last, every result (or the first failure).
    func finished(_ index: Int, _ result: Result<CompletionResult, Error>) -> Result<[CompletionResult], Error>? {
        results[index] = result
        guard results.allSatisfy({ $0 != nil }) else { return nil }
        return Result { try results.map { try $0!.get() } }
    }
}
