// What each route does: authorization, reading the body, queueing the answer on the model worker, and
// writing it back whole or as server-sent events in OpenAI's chunk format.
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
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text(queueDepth: worker.depth))))
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

    func models() -> Response {
        let model = JSON.object(JSONObject([("id", .string(settings.modelName)), ("object", "model"), ("created", .int(Int64(Date().timeIntervalSince1970))),
                                            ("owned_by", "factory")]))
        return json(200, .object(JSONObject([("object", "list"), ("data", .array([model]))])))
    }

    /// POST /v1/chat/completions (`chat`) or /v1/completions.
    func generation(_ incoming: Request, chat: Bool) async -> Response {
        let started = Date()
        var request = incoming
        let path = request.uri.path
        if let key = settings.apiKey, request.headers[.authorization] != "Bearer " + key { return logged(error(.unauthorized), path, started) }
        let parsed: GenerationRequest
        do {
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: settings.maxBody) } catch { return logged(self.error(.tooLarge(settings.maxBody)), path, started) }
            let body: JSON
            do { body = try JSON.parse(bytes: Array(buffer.readableBytesView)) } catch { throw APIError.badRequest("the body is not valid JSON: \(error)") }
            parsed = try GenerationRequest(body, chat: chat, defaults: completer.defaults)
            if let model = parsed.model, model != settings.modelName { throw APIError.modelNotFound(model, served: [settings.modelName]) }
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
        let completer = self.completer
        let outcome: Result<[(String, CompletionResult)], Error> = await withCheckedContinuation { continuation in
            let queued = worker.submit {
                continuation.resume(returning: Result {
                    try (0..<request.n).map { index in
                        var text = ""
                        let result = try completer.complete(request, index: index, cancelled: { false }) { text += $0 }
                        return (text, result)
                    }
                })
            }
            if !queued { continuation.resume(returning: .failure(APIError.busy)) }
        }
        switch outcome {
        case .failure(let e as APIError): return logged(error(e), path, started)
        case .failure(let e): return logged(error(.server("\(e)")), path, started)
        case .success(let choices):
            let prompt = choices.first?.1.promptTokens ?? 0, completion = choices.reduce(0) { $0 + $1.1.completionTokens }
            let list: [JSON] = choices.enumerated().map { index, choice in
                var c = JSONObject([("index", .int(Int64(index)))])
                if chat { c["message"] = .object(JSONObject([("role", "assistant"), ("content", .string(choice.0))])) } else { c["text"] = .string(choice.0) }
                c["logprobs"] = .null
                c["finish_reason"] = .string(choice.1.finishReason)
                return .object(c)
            }
            let body = JSONObject([("id", .string(id)), ("object", .string(chat ? "chat.completion" : "text_completion")), ("created", .int(created)),
                                   ("model", .string(settings.modelName)), ("choices", .array(list)), ("usage", usage(prompt, completion))])
            return logged(json(200, .object(body)), path, started, tokens: completion, prompt: prompt)
        }
    }

    /// The answer as server-sent events: a chunk per piece of text (the role first, for chat), the finish
    /// reason, the usage when asked, then [DONE]. A client that goes away cancels the generation.
    func stream(_ request: GenerationRequest, chat: Bool, id: String, created: Int64, path: String, started: Date) -> Response {
        let (events, continuation) = AsyncStream<String>.makeStream()
        let cancelled = CancelFlag()
        let completer = self.completer, name = settings.modelName, metrics = self.metrics
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
        let queued = worker.submit {
            var prompt = 0, completion = 0
            do {
                for index in 0..<request.n {
                    if chat { continuation.yield(chunk(index, delta: JSONObject([("role", "assistant"), ("content", "")]), text: nil, finish: nil)) }
                    let result = try completer.complete(request, index: index, cancelled: { cancelled.isSet }) { piece in
                        continuation.yield(chunk(index, delta: JSONObject([("content", .string(piece))]), text: piece, finish: nil))
                    }
                    continuation.yield(chunk(index, delta: JSONObject(), text: "", finish: result.finishReason))
                    prompt = result.promptTokens
                    completion += result.completionTokens
                    if cancelled.isSet { break }
                }
                if request.includeUsage { continuation.yield(usageLine(prompt, completion)) }
                continuation.yield("data: [DONE]\n\n")
            } catch {
                continuation.yield("data: " + APIError.server("\(error)").json.serialized() + "\n\n")
            }
            continuation.finish()
            metrics.record(path: path, status: 200, prompt: prompt, completion: completion)
            FileHandle.standardError.write(Data(String(format: "POST %@ 200 stream %d tokens %.2f s\n", path, completion, Date().timeIntervalSince(started)).utf8))
        }
        guard queued else { return logged(error(.busy), path, started) }
        let body = ResponseBody { writer in
            do {
                for await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            } catch {
                cancelled.set()  // the client went away: its generation stops at the next token
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

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
