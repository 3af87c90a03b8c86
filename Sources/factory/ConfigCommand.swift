import ArgumentParser
import FactoryConfig

/// `factory config keys|check`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Config keys and validation.",
                                                    subcommands: [Keys.self, Check.self])

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every config key with its type, grouped as LLaMA-Factory groups them.")
        func run() throws {
            for group in ConfigSchema.groups {
                print("\(group.name):")
                for (key, type) in group.keys { print("  \(key): \(type.rawValue)") }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a config file and overrides; print the typed values.")
        @Argument(help: "The YAML config file, then key=value overrides.") var arguments: [String] = []
        func run() throws {
            try guarded {
                let file = arguments.first.flatMap { $0.contains("=") ? nil : $0 }
                let config = try RunConfig.load(file: file, overrides: Array(arguments.dropFirst(file == nil ? 0 : 1)))
                for key in config.keys { print("\(key): \(config.values[key]!)") }
            }
        }
    }
}
