import ArgumentParser
import FactoryHost
#if canImport(Glibc)
import Glibc
#endif

/// Options every command that loads plugins takes.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugins"), help: "Plugin files or directories, comma-separated (repeatable). They override default plugins of the same name.")
    var plugins: [String] = []

    @Flag(name: .customLong("no-default-plugins"), help: "Do not load the plugins next to the executable.")
    var noDefaultPlugins = false

    /// The --plugins entries, split on commas.
    var entries: [String] { plugins.flatMap { $0.split(separator: ",").map(String.init) } }

    /// Loads the plugin set and prints the overrides it noticed.
    func load(extra: [String] = []) throws -> PluginSet {
        let set = try PluginSet.load(explicit: extra + entries, includeDefaults: !noDefaultPlugins)
        for notice in set.notices { printError("note: \(notice)") }
        return set
    }
}

/// What `run` and `export` take: the YAML config with its overrides, the plugin options, and the plan-only flags.
struct JobOptions: ParsableArguments {
    @Argument(help: "The YAML config file, then key=value overrides.")
    var arguments: [String] = []

    @OptionGroup var pluginOptions: PluginOptions

    @Flag(name: .customLong("dry-run"), help: "Print the resolved plan (which plugin of each kind, from which file) without loading weights.")
    var dryRun = false

    @Flag(help: "With --dry-run: print the plan as JSON.")
    var json = false
}

/// Prints one line to stderr.
func printError(_ line: String) {
    fputs(line + "\n", stderr)
}

/// Runs a command body; any error becomes one line on stderr and exit status 1.
func guarded(_ body: () throws -> Void) throws {
    // the first SIGINT asks the run to stop where it can (a training run: after its step, with a checkpoint);
    // a second one ends the process at once
    signal(SIGINT) { _ in
        if HostServices.isCancelled { _exit(130) }
        HostServices.cancel()
    }
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("factory: error: \(error)")
        throw ExitCode(1)
    }
}
