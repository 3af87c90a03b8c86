import ArgumentParser
import FactoryConformance
import FactoryHost
import FactoryJSON

/// `factory plugins list|inspect|check`.
struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, inspect and check plugins.",
        subcommands: [List.self, Inspect.self, Check.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered components: kind, name, version, file, ABI version.")
        @OptionGroup var pluginOptions: PluginOptions
        @Flag(help: "Machine-readable output.") var json = false

        func run() throws {
            try guarded {
                let set = try pluginOptions.load()
                defer { set.shutdown() }
                if json {
                    print(JSON.object(JSONObject([
                        ("abi", .string(hostABI)),
                        ("components", .array(set.components.map(componentJSON))),
                        ("notices", .array(set.notices.map { .string($0) })),
                    ])).prettyPrinted())
                    return
                }
                let rows = set.components.map { [$0.kind.rawValue, $0.name, $0.version, $0.abiVersion, $0.file] }
                print(table(header: ["KIND", "NAME", "VERSION", "ABI", "FILE"], rows: rows))
                if rows.isEmpty { print("(no plugins found; pass --plugins or set FACTORY_PLUGIN_PATH)") }
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what one plugin file declares, without loading any other plugin.")
        @Argument(help: "The plugin .so file.") var file: String
        @Flag(help: "Machine-readable output.") var json = false

        func run() throws {
            try guarded {
                let plugin = try PluginLoader.load(file, source: .explicit)
                defer { plugin.shutdown() }
                if json {
                    print(JSON.object(JSONObject([
                        ("file", .string(file)), ("abi", .string(plugin.abiVersionString)), ("build", .string(plugin.buildInfo)),
                        ("components", .array(plugin.components.map(componentJSON))),
                    ])).prettyPrinted())
                    return
                }
                print("\(file)\n  ABI \(plugin.abiVersionString) (host \(hostABI)), built with \(plugin.buildInfo.isEmpty ? "(unspecified)" : plugin.buildInfo)")
                for c in plugin.components {
                    print("  \(c.kind.rawValue) '\(c.name)' \(c.version)\n    id: \(c.id)")
                    if !c.vendor.isEmpty { print("    vendor: \(c.vendor)") }
                    if !c.summary.isEmpty { print("    description: \(c.summary)") }
                    if !c.features.isEmpty { print("    features: \(c.features.joined(separator: ", "))") }
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the conformance suite of every kind a plugin registers (ABI rules, then each kind's own checks).")
        @Argument(help: "The plugin .so file.") var file: String
        @Flag(help: "Attention kernels: the whole conformance sweep (sequence lengths up to 4096; about a minute).") var full = false
        @Option(name: .customLong("model-config"), help: "Model families: the config.json of the tiny random model to check with (default: a Llama-style one).")
        var modelConfig: String?

        func run() throws {
            try guarded {
                KindSuites.fullAttentionSweep = full
                if let modelConfig { try KindSuites.useModelConfig(file: modelConfig) }
                let results = PluginChecker.check(file: file)
                for r in results { print("\(r.passed ? "PASS" : "FAIL") \(r.name)" + (r.detail.isEmpty ? "" : " — \(r.detail)")) }
                let failed = results.filter { !$0.passed }.count
                print("\(file): \(results.count - failed) passed, \(failed) failed")
                if failed > 0 { throw ExitCode(1) }
            }
        }
    }
}

let hostABI = FactoryVersion.abi

func componentJSON(_ c: Component) -> JSON {
    .object(JSONObject([
        ("kind", .string(c.kind.rawValue)), ("name", .string(c.name)), ("id", .string(c.id)), ("version", .string(c.version)),
        ("vendor", .string(c.vendor)), ("description", .string(c.summary)), ("features", .array(c.features.map { .string($0) })),
        ("file", .string(c.file)), ("source", .string(c.source.description)), ("abi", .string(c.abiVersion)),
    ]))
}

/// Left-aligned columns.
func table(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count) }.joined(separator: "  ")
    }.joined(separator: "\n")
}
