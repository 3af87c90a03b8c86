// `factory api`: the model as an OpenAI-compatible HTTP server on Hummingbird, configured as LLaMA-Factory's
// `llamafactory-cli api` is (API_HOST, API_PORT — default 8000 —, API_MODEL_NAME, API_KEY for a bearer
// token). Routes: GET /health, GET /v1/models, POST /v1/chat/completions (with tools: calls read back by the
// template's answer format, streamed too; reasoning_content) and /v1/completions, plain or
// streamed as server-sent events (with stream_options.include_usage). Every error has OpenAI's shape.
// Generation runs on the model worker: requests' choices decode together (continuous batching, up to
// `api_max_sequences`), the others wait in a queue of `api_queue_size`; a full queue answers 503.
// GET /metrics: Prometheus text (requests, tokens, queue depth, batch size).
// SIGTERM / SIGINT stop accepting, let the running answers finish, and exit 0 (Hummingbird's service
// lifecycle). One line per request on stderr: method, path, status, tokens, seconds.
import FactoryConfig
import FactoryJSON
import FactoryPipeline
import Foundation
import Hummingbird

public enum APIServer {
    /// What the server is started with.
    public struct Settings: Sendable {
        public var host = "0.0.0.0"
        public var port = 8000
        public var modelName = "gpt-3.5-turbo"
        public var apiKey: String?
        /// Largest request body, in bytes.
        public var maxBody = 4 << 20

        /// LLaMA-Factory's environment variables.
        public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
            if let h = environment["API_HOST"], !h.isEmpty { host = h }
            if let p = environment["API_PORT"], !p.isEmpty {
                guard let n = Int(p), (1...65535).contains(n) else { throw ConfigProblem("API_PORT=\(p): a port number in 1…65535") }
                port = n
            }
            if let m = environment["API_MODEL_NAME"], !m.isEmpty { modelName = m }
            if let k = environment["API_KEY"], !k.isEmpty { apiKey = k }
        }
    }

    /// What `run` serves: the session (model, template, defaults), what must stay alive with it (the
    /// plugins), and the decoding limits (the config's `api_max_sequences` and `api_queue_size`).
    public struct Served {
        public let session: ChatSession
        public let keepAlive: AnyObject
        public let maxSequences: Int
        public let queueSize: Int
        /// The adapters served over the base (api_adapters), by name: a request whose `model` is the i-th
        /// runs with RowAdapters index i + 1 (the linear hook that reads it is installed by the caller).
        public let adapters: [String]
        public init(session: ChatSession, keepAlive: AnyObject, maxSequences: Int?, queueSize: Int?, adapters: [String] = []) {
            (self.session, self.keepAlive, self.adapters) = (session, keepAlive, adapters)
            (self.maxSequences, self.queueSize) = (maxSequences ?? 8, queueSize ?? 32)
        }
    }

    /// Loads the model on the worker (`load` runs there) and serves until SIGTERM or SIGINT.
    public static func run(_ settings: Settings, load: @escaping () throws -> Served) async throws {
        let worker = ModelWorker()
        defer { worker.stop() }
        let completer = try worker.runAndWait { () -> Completer in
            let served = try load()
            if let clash = served.adapters.first(where: { $0 == settings.modelName }) {
                throw ConfigProblem("api_adapters: '\(clash)' is the base model's name (API_MODEL_NAME); name the adapter otherwise")
            }
            let completer = try Completer(session: served.session, keepAlive: served.keepAlive, adapters: served.adapters)
            let line = worker.serve(completer, maxSequences: served.maxSequences, queueSize: served.queueSize)
            FileHandle.standardError.write(Data((line + "\n").utf8))
            return completer
        }
        let router = Router()
        let handler = RequestHandler(settings: settings, worker: worker, completer: completer)
        router.get("/health") { _, _ in handler.json(200, ["status": "ok"]) }
        router.get("/v1/models") { request, _ in try handler.authorized(request) { handler.models() } }
        router.get("/metrics") { _, _ in handler.metricsText() }
        router.post("/v1/chat/completions") { request, _ in await handler.generation(request, chat: true) }
        router.post("/v1/completions") { request, _ in await handler.generation(request, chat: false) }
        let app = Application(router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "factory"))
        FileHandle.standardError.write(Data("serving \(settings.modelName) on http://\(settings.host):\(settings.port)/v1 (OpenAI API)\(settings.apiKey == nil ? "" : ", API_KEY required")\n".utf8))
        try await app.runService()
        FileHandle.standardError.write(Data("stopped\n".utf8))
    }
}
