import ArgumentParser
import FactoryPipeline
import Foundation

/// `factory chat`: an interactive conversation, streamed, with `clear` and `exit` as in LLaMA-Factory.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model in the terminal (type 'clear' to forget the history, 'exit' to quit).")
    @OptionGroup var model: ModelArguments

    func run() throws {
        try guarded {
            let (config, loaded, plugins) = try model.load()
            let session = try ChatSession(model: loaded, config: config, plugins: plugins)
            if let warning = session.templateWarning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            func say(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
            say("Welcome to the CLI application, use `clear` to remove the history, use `exit` to exit the application.\n")
            while true {
                say("\nUser: ")
                guard let line = readLine(strippingNewline: true) else { say("\n"); return }
                let text = line.trimmingCharacters(in: .whitespaces)
                if text == "exit" { return }
                if text == "clear" {
                    session.clear()
                    say("History has been removed.\n")
                    continue
                }
                say("Assistant: ")
                try session.send(line) { say($0) }
                say("\n")
            }
        }
    }
}
