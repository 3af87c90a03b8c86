import ArgumentParser
import FactoryPipeline
import FactoryServer
import Foundation

/// `factory api config.yaml [key=value ...]`: LLaMA-Factory's `llamafactory-cli api` on the same YAML.
struct API: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Serve the model with an OpenAI-compatible API (LLaMA-Factory's llamafactory-cli api): /v1/chat/completions, /v1/completions, /v1/models, /health.",
        discussion: "Environment: API_HOST (default 0.0.0.0), API_PORT (8000), API_MODEL_NAME (gpt-3.5-turbo), API_KEY (a bearer token clients must send). "
            + "The config is chat's: model_name_or_path, adapter_name_or_path, template, the generating keys as defaults; "
            + "api_max_sequences (8) sequences decode together, api_queue_size (32) more may wait. SIGTERM or SIGINT stops it.")

    @OptionGroup var model: ModelArguments

    func run() throws {
        try guarded {
            let settings = try APIServer.Settings()
            nonisolated(unsafe) let arguments = model
            let outcome = Outcome()
            let done = DispatchSemaphore(value: 0)
            Task {
                do {
                    try await APIServer.run(settings) {
                        let (config, loaded, plugins) = try arguments.load()
                        let session = try ChatSession(model: loaded, config: config, plugins: plugins)
                        if let warning = session.templateWarning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
                        return APIServer.Served(session: session, keepAlive: plugins, maxSequences: config.int("api_max_sequences"),
                                                queueSize: config.int("api_queue_size"))
                    }
                } catch { outcome.error = error }
                done.signal()
            }
            done.wait()
            if let error = outcome.error { throw error }
        }
    }

    /// How the server's task ended.
    final class Outcome: @unchecked Sendable { var error: Error? }
}
