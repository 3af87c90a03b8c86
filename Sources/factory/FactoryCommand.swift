import ArgumentParser
import FactoryEngine

/// The `factory` command line: a thin layer over FactoryPipeline and FactoryHost.
@main
struct FactoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "factory",
        abstract: "Fine-tune large language models; every model family, template, method, quantizer and attention kernel is a plugin.",
        version: "0.1.0",
        subcommands: [Run.self, Export.self, Chat.self, API.self, Eval.self, Generate.self, Score.self, Tokenize.self, TemplateCommand.self, DataCommand.self, Plugins.self, ConfigCommand.self]
    )

    static func main() {
        BLASKernels.prepare(training: CommandLine.arguments.dropFirst().first == "run")  // `run` trains
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
