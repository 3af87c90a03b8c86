// The Chat tab's model: `factory api` on a loopback port of its own, started by the web UI in a process of its
// own (as the runs are), with a random API key only the web UI knows. The page's chat requests go to the web
// UI, which forwards them (ChatProxy) and streams the answer back, so the page talks to one origin and the
// model's memory goes away with its process when another model is loaded or the web UI stops.
import FactoryJSON
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

public final class ChatBackend: Sendable {
    /// The running `factory api`: its port, key, what it serves, and its process.
    struct Loaded: Sendable {
        let port: Int
        let key: String
        let description: JSON
        let process: Int32
        let log: String
    }
    private let binary: String
    private let directory: String
    private let loaded = Mutex<Loaded?>(nil)

    init(binary: String, stateDirectory: String) {
        (self.binary, directory) = (binary, stateDirectory)
    }

    var current: (port: Int, key: String)? { loaded.withLock { $0.map { ($0.port, $0.key) } } }

    var status: JSON {
        loaded.withLock { $0?.description } ?? .object(JSONObject([("loaded", .bool(false))]))
    }

    /// Stops the model being served, if any, and serves `yaml` (a chat config) instead; returns once it answers
    /// /health, or throws its last error line.
    func load(yaml: String, description: JSONObject) async throws -> JSON {
        unload()
        let config = directory + "/chat.yaml", log = directory + "/chat.log"
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: log, contents: nil)
        guard let output = FileHandle(forWritingAtPath: log) else { throw WebUIError(500, "\(log): cannot be written") }
        let port = try Self.freePort(), key = UUID().uuidString
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["api", config]
        var environment = ProcessInfo.processInfo.environment
        (environment["API_HOST"], environment["API_PORT"], environment["API_KEY"], environment["API_MODEL_NAME"]) = ("127.0.0.1", "\(port)", key, "webui")
        process.environment = environment
        (process.standardOutput, process.standardError) = (output, output)
        try process.run()
        Thread.detachNewThread {
            process.waitUntilExit()
            try? output.close()
        }
        let deadline = Date().addingTimeInterval(300)
        var ready = false
        while !ready {
            if !process.isRunning {
                let last = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? "no output"
                throw WebUIError(422, "the model did not load: \(last)")
            }
            guard Date() < deadline else {
                process.terminate()
                throw WebUIError(504, "the model did not answer within 300 s of starting (its output: \(log))")
            }
            ready = await Self.healthy(port)
            if !ready { try await Task.sleep(nanoseconds: 200_000_000) }
        }
        var shown = description
        shown["loaded"] = .bool(true)
        let served = Loaded(port: port, key: key, description: .object(shown), process: process.processIdentifier, log: log)
        loaded.withLock { $0 = served }
        return served.description
    }

    /// Ends the model's process (SIGTERM: the server finishes its answers and exits).
    func unload() {
        if let old = loaded.withLock({ state -> Loaded? in defer { state = nil }; return state }) { kill(old.process, SIGTERM) }
    }

    static func healthy(_ port: Int) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/health") else { return false }
        var request = URLRequest(url: url)
        request.timeoutInterval = 1
        return await withCheckedContinuation { continuation in
            URLSession.shared.dataTask(with: request) { _, response, _ in
                continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode == 200)
            }.resume()
        }
    }

    /// A port nothing listens on now (the kernel's choice for a socket bound to port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WebUIError(500, "no socket for a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw WebUIError(500, "no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Forwards one request to the chat model's server and hands its response back as it arrives (a streamed
/// answer's server-sent events chunk by chunk).
final class ChatProxy: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    let chunks: AsyncThrowingStream<Data, Error>
    private let status = Mutex<(code: Int?, waiting: CheckedContinuation<Int, Never>?)>((nil, nil))
    private var session: URLSession?
    private var task: URLSessionDataTask?

    override init() {
        var c: AsyncThrowingStream<Data, Error>.Continuation!
        chunks = AsyncThrowingStream { c = $0 }
        continuation = c
        super.init()
    }

    /// Sends `body` to `path` of the served model; returns the response's status once its head arrived.
    func send(port: Int, key: String, path: String, body: Data) async -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer " + key, forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 600
        let session = URLSession(configuration: .default, delegate: self, delegateQueue: nil)
        self.session = session
        return await withCheckedContinuation { waiting in
            status.withLock { $0.waiting = waiting }
            let task = session.dataTask(with: request)
            self.task = task
            task.resume()
        }
    }

    /// Stops forwarding (the page went away): the model's server sees its client leave and frees the slot.
    func cancel() {
        task?.cancel()
        session?.invalidateAndCancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let code = (response as? HTTPURLResponse)?.statusCode ?? 502
        status.withLock { state in
            state.code = code
            state.waiting?.resume(returning: code)
            state.waiting = nil
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        continuation.yield(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        status.withLock { state in
            state.waiting?.resume(returning: 502)
            state.waiting = nil
        }
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
        session.finishTasksAndInvalidate()
    }
}
