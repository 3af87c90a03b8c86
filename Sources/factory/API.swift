import ArgumentParser
import FactoryConfig
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import FactoryServer
import Foundation

/// `factory api config.yaml [key=value ...]`: LLaMA-Factory's `llamafactory-cli api` on the same YAML.
struct API: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Serve the model with an OpenAI-compatible API (LLaMA-Factory's llamafactory-cli api): /v1/chat/completions, /v1/completions, /v1/models, /health.",
        discussion: "Environment: API_HOST (default 0.0.0.0), API_PORT (8000), API_MODEL_NAME (gpt-3.5-turbo), API_KEY (a bearer token clients must send). "
            + "The config is chat's: model_name_or_path, adapter_name_or_path, template, the generating keys as defaults; "
            + "api_max_sequences (8) sequences decode together, api_queue_size (32) more may wait; api_adapters {name: dir, …} serves adapters over the base, "
            + "picked by the request's model. SIGTERM or SIGINT stops it.")

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
                        let adapters = try API.adapters(config)
                        var names: [String] = []
                        if !adapters.isEmpty {
                            if (config.list("adapter_name_or_path") ?? []).count == 1 && config.bool("merge") != true {
                                throw ConfigProblem("api_adapters: the base already has adapter_name_or_path routed through its own hook; set merge: true to fold it into the base first")
                            }
                            let set = try AdapterSet(adapters, over: loaded, plugins: plugins)
                            set.installHook()
                            names = set.names
                            FileHandle.standardError.write(Data("api_adapters: \(names.joined(separator: ", ")) over one base\n".utf8))
                        }
                        return APIServer.Served(session: session, keepAlive: plugins, maxSequences: config.int("api_max_sequences"),
                                                queueSize: config.int("api_queue_size"), adapters: names)
                    }
                } catch { outcome.error = error }
                done.signal()
            }
            done.wait()
            if let error = outcome.error { throw error }
        }
    }

    /// api_adapters: a mapping of names to adapter directories (or llama.cpp LoRA GGUFs), in the order given;
    /// on the command line a JSON object. Anything else is refused naming the key.
    static func adapters(_ config: RunConfig) throws -> [(name: String, path: String)] {
        guard var value = config.value("api_adapters")?.json, value != .null else { return [] }
        if let text = value.stringValue { value = (try? JSON.parse(text)) ?? value }
        guard let object = value.objectValue, object.count > 0 else {
            throw ConfigProblem("api_adapters must be a mapping of names to adapter directories, e.g. {identity: saves/smollm2-lora}")
        }
        return try object.pairs.map { name, path in
            guard !name.isEmpty, let p = path.stringValue, !p.isEmpty else { throw ConfigProblem("api_adapters: '\(name)' must name an adapter directory") }
            return (name, p)
        }
    }

    /// How the server's task ended.
    final class Outcome: @unchecked Sendable { var error: Error? }
}
