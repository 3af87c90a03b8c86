// `factory webui`: a LlamaBoard-style page served by the same binary on Hummingbird (issue 24). The page is
// static HTML, CSS, JavaScript and translations compiled into the binary (WebUIPage: /, /style.css, /app.js,
// /locales.js), no network needed; everything it does
// goes through the JSON routes below, which run factory's own commands as processes, as LlamaBoard runs
// llamafactory-cli: GET /api/plugins (`factory plugins list --json`), GET /api/folders?path= and
// /api/datasets?dir= (inside WEBUI_ROOTS only), POST /api/preview (the YAML of the Train tab), POST /api/runs
// (start), POST /api/eval, /api/predict and /api/export (the other jobs), GET /api/runs, GET
// /api/runs/{id}/events (server-sent events, RunEvents), GET /api/runs/{id}/results (the scores and predictions
// a finished job wrote), POST /api/runs/{id}/stop (SIGINT); GET /api/chat, POST
// /api/chat/load and /api/chat/unload (the Chat tab's model: a `factory api` process, ChatBackend) and POST
// /api/chat/completions (OpenAI's chat request, forwarded to it and its answer streamed back). With WEBUI_TOKEN set every
// request carries it (Authorization: Bearer, or ?token= where a browser cannot set headers).
import FactoryJSON
import Foundation
import Hummingbird

public enum WebUIServer {
    /// Serves until SIGTERM or SIGINT.
    public static func run(_ settings: WebUISettings) async throws {
        let folders = Folders(roots: settings.roots)
        let runs = try WebRuns(binary: settings.binary, stateDirectory: settings.stateDirectory)
        let router = Router()
        let guarded = { (request: Request, body: () async throws -> Response) async -> Response in
            if let token = settings.token, request.headers[.authorization] != "Bearer " + token,
               request.uri.queryParameters.get("token") != token {
                return json(401, ["error": "this web UI asks for its WEBUI_TOKEN (Authorization: Bearer …, or ?token=)"])
            }
            do { return try await body() } catch let e as WebUIError { return json(e.status, ["error": e.message]) } catch {
                return json(500, ["error": "\(error)"])
            }
        }
        router.get("/") { _, _ in page(WebUIPage.html, "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in page(WebUIPage.script, "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in page(WebUIPage.style, "text/css; charset=utf-8") }
        let locales = "const locales = " + WebUIPage.locales + ";\n"
        router.get("/locales.js") { _, _ in page(locales, "text/javascript; charset=utf-8") }
        router.get("/api/plugins") { request, _ in
            await guarded(request) {
                let listed = try command(settings.binary, ["plugins", "list", "--json"])
                guard listed.status == 0 else { throw WebUIError(500, "factory plugins list: \(listed.error)") }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: listed.output)))
            }
        }
        router.get("/api/folders") { request, _ in
            await guarded(request) { try answer(folders.listing(request.uri.queryParameters.get("path"))) }
        }
        router.get("/api/datasets") { request, _ in
            await guarded(request) { try answer(folders.datasets(request.uri.queryParameters.get("dir") ?? "data")) }
        }
        router.post("/api/preview") { request, _ in
            await guarded(request) {
                let (fields, extra) = try await form(request)
                return json(200, .object(JSONObject([("yaml", .string(try RunForm.yaml(fields, extra: extra)))])))
            }
        }
        router.post("/api/runs") { request, _ in
            await guarded(request) {
                let (fields, extra) = try await form(request)
                guard let output = fields["output_dir"]?.stringValue, !output.isEmpty else { throw WebUIError(400, "output_dir: where the run writes (required)") }
                let run = try runs.start(yaml: try RunForm.yaml(fields, extra: extra), outputDir: output)
                FileHandle.standardError.write(Data("run \(run.id): factory run \(run.config) (pid \(run.pid))\n".utf8))
                return json(200, run.json)
            }
        }
        // eval and export run as jobs beside the training runs: the same log, status and stop
        for (command, folderKey) in [("eval", "save_dir"), ("export", "export_dir")] {
            router.post("/api/\(command)") { request, _ in
                await guarded(request) {
                    let (fields, extra) = try await form(request)
                    guard let folder = fields[folderKey]?.stringValue, !folder.isEmpty else { throw WebUIError(400, "\(folderKey): where \(command) writes (required)") }
                    let run = try runs.start(command, yaml: try RunForm.yaml(fields, extra: extra), outputDir: folder)
                    FileHandle.standardError.write(Data("run \(run.id): factory \(command) \(run.config) (pid \(run.pid))\n".utf8))
                    return json(200, run.json)
                }
            }
        }
        // predict (the Evaluate tab): `factory run` with do_predict and predict_with_generate on the chosen model,
        // as LlamaBoard's Evaluate & Predict tab runs llamafactory-cli train with do_predict
        router.post("/api/predict") { request, _ in
            await guarded(request) {
                var (fields, extra) = try await form(request)
                guard let output = fields["output_dir"]?.stringValue, !output.isEmpty else { throw WebUIError(400, "output_dir: where the predictions are written (required)") }
                guard fields["eval_dataset"]?.arrayValue?.isEmpty == false || fields["eval_dataset"]?.stringValue?.isEmpty == false else {
                    throw WebUIError(400, "eval_dataset: choose the datasets to predict on")
                }
                for (key, value) in [("stage", JSON.string("sft")), ("do_predict", .bool(true)), ("predict_with_generate", .bool(true))] { fields[key] = value }
                let run = try runs.start("run", job: "predict", yaml: try RunForm.yaml(fields, extra: extra), outputDir: output)
                FileHandle.standardError.write(Data("run \(run.id): factory run \(run.config) (predict, pid \(run.pid))\n".utf8))
                return json(200, run.json)
            }
        }
        router.get("/api/runs/{id}/results") { request, context in
            await guarded(request) {
                guard let id = context.parameters.get("id", as: Int.self), let run = runs.run(id) else { throw WebUIError(404, "no such run") }
                return json(200, RunEvents.results(of: run))
            }
        }
        // the Train tab's checks: the data as factory data check renders it, the template against the model's own
        router.post("/api/data-check") { request, _ in
            await guarded(request) {
                let (fields, extra) = try await form(request)
                let config = settings.stateDirectory + "/data-check.yaml"
                try RunForm.yaml(fields, extra: extra).write(toFile: config, atomically: true, encoding: .utf8)
                let checked = try command(settings.binary, ["data", "check", config, "--samples", "3"])
                return json(200, .object(JSONObject([("ok", .bool(checked.status == 0)), ("text", .string(checked.status == 0 ? checked.output : checked.error))])))
            }
        }
        router.post("/api/template-check") { request, _ in
            await guarded(request) {
                let (fields, _) = try await form(request)
                guard let model = fields["model_name_or_path"]?.stringValue, !model.isEmpty, let template = fields["template"]?.stringValue, !template.isEmpty else {
                    throw WebUIError(400, "choose a model and a template to check")
                }
                let checked = try command(settings.binary, ["template", "check", "--template", template, "--model", model])
                let text = checked.output + checked.error
                let summary = text.split(separator: "\n").last.map(String.init) ?? ""
                return json(200, .object(JSONObject([("ok", .bool(checked.status == 0)), ("summary", .string(summary)), ("text", .string(text))])))
            }
        }
        // the template plugin that renders as the model's own chat template: each one checked in turn, the first
        // with no difference preselected by the page (a model without its own template matches none)
        router.get("/api/template-match") { request, _ in
            await guarded(request) {
                guard let model = request.uri.queryParameters.get("model"), !model.isEmpty else { throw WebUIError(400, "model: the model to match") }
                let listed = try command(settings.binary, ["plugins", "list", "--json"])
                let names = ((try? JSON.parse(listed.output))?["components"]?.arrayValue ?? [])
                    .filter { $0["kind"]?.stringValue == "chat-template" }.compactMap { $0["name"]?.stringValue }
                var results: [JSON] = [], match: String?
                for name in names where match == nil {
                    let checked = try command(settings.binary, ["template", "check", "--template", name, "--model", model])
                    let summary = (checked.output + checked.error).split(separator: "\n").last.map(String.init) ?? ""
                    if checked.status == 0 && summary.hasSuffix(" 0 different") { match = name }
                    results.append(.object(JSONObject([("template", .string(name)), ("summary", .string(summary))])))
                }
                return json(200, .object(JSONObject([("match", match.map { .string($0) } ?? .null), ("checked", .array(results))])))
            }
        }
        router.get("/api/runs") { request, _ in
            await guarded(request) { json(200, .array(runs.all.map(\.json))) }
        }
        router.post("/api/runs/{id}/stop") { request, context in
            await guarded(request) {
                guard let id = context.parameters.get("id", as: Int.self) else { throw WebUIError(400, "run id: a number") }
                try runs.stop(id)
                return json(200, ["stopping": "SIGINT sent: the run saves a checkpoint after its current step"])
            }
        }
        router.get("/api/runs/{id}/events") { request, context in
            await guarded(request) {
                guard let id = context.parameters.get("id", as: Int.self), runs.run(id) != nil else { throw WebUIError(404, "no such run") }
                return RunEvents.response(runs, id)
            }
        }
        let chat = ChatBackend(binary: settings.binary, stateDirectory: settings.stateDirectory)
        router.get("/api/chat") { request, _ in await guarded(request) { json(200, chat.status) } }
        router.post("/api/chat/load") { request, _ in
            await guarded(request) {
                let (fields, extra) = try await form(request)
                guard fields["model_name_or_path"]?.stringValue?.isEmpty == false else { throw WebUIError(400, "model_name_or_path: the model to chat with") }
                return json(200, try await chat.load(yaml: try RunForm.yaml(fields, extra: extra), description: fields))
            }
        }
        router.post("/api/chat/unload") { request, _ in
            await guarded(request) {
                chat.unload()
                return json(200, chat.status)
            }
        }
        router.post("/api/chat/completions") { request, _ in
            await guarded(request) {
                guard let (port, key) = chat.current else { throw WebUIError(409, "no model is loaded: load one on the Chat tab first") }
                var request = request
                let body = Data(try await request.collectBody(upTo: 4 << 20).readableBytesView)
                let streamed = (try? JSON.parse(bytes: Array(body)))?["stream"]?.boolValue ?? false
                let proxy = ChatProxy()
                let status = await proxy.send(port: port, key: key, path: "/v1/chat/completions", body: body)
                let answer = ResponseBody { writer in
                    do {
                        for try await chunk in proxy.chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                        try await writer.finish(nil)
                    } catch {
                        proxy.cancel()  // the page stopped reading: the model's server frees the answer's slot
                        throw error
                    }
                }
                return Response(status: .init(code: status), headers: [.contentType: streamed && status == 200 ? "text/event-stream" : "application/json",
                                                                        .cacheControl: "no-cache"], body: answer)
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "factory-webui"))
        FileHandle.standardError.write(Data("factory webui on http://\(settings.host):\(settings.port)/\(settings.token == nil ? "" : " (WEBUI_TOKEN required)"); folders: \(settings.roots.joined(separator: ":"))\n".utf8))
        try await app.runService()
        runs.stopAll()  // no run trains on unwatched: each saves a checkpoint and stops
        chat.unload()
    }

    static func form(_ request: Request) async throws -> (JSONObject, String) {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        guard let body = try? JSON.parse(bytes: Array(buffer.readableBytesView)), let object = body.objectValue else {
            throw WebUIError(400, "the body must be a JSON object {fields: {…}, extra: \"…\"}")
        }
        guard let fields = object["fields"]?.objectValue else { throw WebUIError(400, "fields: an object of config keys") }
        return (fields, object["extra"]?.stringValue ?? "")
    }

    static func answer(_ result: Result<JSON, FolderRefusal>) throws -> Response {
        switch result {
        case .success(let body): return json(200, body)
        case .failure(let refusal): throw WebUIError(refusal.status, refusal.message)
        }
    }

    static func json(_ status: Int, _ body: JSON) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body.serialized() + "\n")))
    }

    static func json(_ status: Int, _ fields: [String: String]) -> Response {
        json(status, .object(JSONObject(fields.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })))
    }

    static func page(_ text: String, _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs the factory binary with `arguments`; its output and its error output, whole.
    static func command(_ binary: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}
