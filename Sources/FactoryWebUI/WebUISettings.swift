// What `factory webui` starts with, from the environment (LLaMA-Factory's LlamaBoard reads GRADIO_SERVER_NAME and
// GRADIO_SERVER_PORT; Factory's names are WEBUI_*): where it listens, the token it asks for, the folders its
// pickers may read, and where it keeps the runs it starts.
import Foundation

public struct WebUISettings: Sendable {
    /// WEBUI_HOST: loopback unless said otherwise.
    public var host = "127.0.0.1"
    /// WEBUI_PORT: 7860, Gradio's (LlamaBoard's) port.
    public var port = 7860
    /// WEBUI_TOKEN: required from every request when set; WEBUI_HOST off loopback requires one.
    public var token: String?
    /// WEBUI_ROOTS (colon-separated): the folders the file pickers and dataset lists may read, resolved.
    public var roots: [String]
    /// WEBUI_STATE: where run configs and their output logs go (saves/webui).
    public var stateDirectory = "saves/webui"
    /// The factory binary the runs start (this process's own).
    public var binary: String

    /// From the environment; `defaultRoots` when WEBUI_ROOTS is unset (the working directory and the folder of
    /// the pip-installed default model).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, defaultRoots: [String], binary: String) throws {
        self.binary = binary
        if let h = environment["WEBUI_HOST"], !h.isEmpty { host = h }
        if let p = environment["WEBUI_PORT"], !p.isEmpty {
            guard let n = Int(p), (1...65535).contains(n) else { throw WebUIError(400, "WEBUI_PORT=\(p): a port number in 1…65535") }
            port = n
        }
        if let t = environment["WEBUI_TOKEN"], !t.isEmpty { token = t }
        if let s = environment["WEBUI_STATE"], !s.isEmpty { stateDirectory = s }
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host)
        guard loopback || token != nil else {
            throw WebUIError(400, "WEBUI_HOST=\(host) serves the web UI beyond this machine: set WEBUI_TOKEN, which every request must then carry")
        }
        let given = environment["WEBUI_ROOTS"].map { $0.split(separator: ":").map(String.init) } ?? defaultRoots
        roots = try given.map { root in
            guard let resolved = Folders.resolved(root) else { throw WebUIError(400, "WEBUI_ROOTS: \(root) does not exist") }
            return resolved
        }
    }
}
