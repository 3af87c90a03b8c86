import ArgumentParser
import Foundation
import FactoryEngine

/// The `factory` command line: a thin layer over FactoryPipeline and FactoryHost.
@main
struct FactoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "factory",
        abstract: "Fine-tune large language models; every model family, template, method, quantizer and attention kernel is a plugin.",
        version: "0.1.0",
        subcommands: [Run.self, Export.self, Chat.self, API.self, WebUI.self, Eval.self, Generate.self, Score.self, Tokenize.self, TemplateCommand.self, DataCommand.self, Plugins.self, ConfigCommand.self]
    )

    static func main() {
        // a parent may hand down SIGINT and SIGTERM blocked (a server's threads block them, and a child inherits the
        // mask): `factory run` started by the web UI must still hear its stop button
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        setvbuf(stdout, nil, _IOLBF, 0)  // whole lines as they come, also into a file or a pipe (the web UI's run log)
        BLASKernels.prepare(training: CommandLine.arguments.dropFirst().first == "run")  // `run` trains
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
