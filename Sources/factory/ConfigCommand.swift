import ArgumentParser
import FactoryConfig

/// `factory config keys|check`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Config keys and validation.",
                                                    subcommands: [Keys.self, Check.self])

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every config key with its type and the values it accepts, grouped as LLaMA-Factory groups them.",
            discussion: "--markdown prints the tables of docs/configuration.md (a test keeps the file equal to this output).")
        @Flag(help: "Print the key tables and the cross-key rules as Markdown.") var markdown = false

        func run() throws {
            if markdown {
                print(ConfigDocs.markdown(), terminator: "")
                return
            }
            for group in ConfigSchema.groups {
                print("\(group.name):")
                for key in group.keys { print("  \(key.name): \(key.type.rawValue)" + (key.rule.map { ", \($0.expectation)" } ?? "")) }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a config file and overrides (types, ranges, cross-key rules); print the typed values.")
        @Argument(help: "The YAML config file, then key=value overrides.") var arguments: [String] = []
        func run() throws {
            try guarded {
                let config = try RunConfig.load(arguments: arguments)
                for note in config.notes { printError("note: \(note)") }
                for key in config.keys { print("\(key): \(config.values[key]!)") }
            }
        }
    }
}
