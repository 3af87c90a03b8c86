import ArgumentParser
import FactoryConfig
import FactoryEngine
import FactoryHost
import FactoryPipeline
import FactoryTraining

/// `factory run config.yaml [key=value ...]` (or `factory train`, LLaMA-Factory's verb): the main job.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a job described by a LLaMA-Factory-style YAML config (alias: train, LLaMA-Factory's verb).",
        discussion: "Keys and values follow LLaMA-Factory; key=value arguments override the file.", aliases: ["train"])

    @Argument(help: "The YAML config file, then key=value overrides.")
    var arguments: [String] = []

    @OptionGroup var pluginOptions: PluginOptions

    @Flag(name: .customLong("dry-run"), help: "Print the resolved plan (which plugin of each kind, from which file) without loading weights.")
    var dryRun = false

    @Flag(help: "With --dry-run: print the plan as JSON.")
    var json = false

    func run() throws {
        try guarded {
            let config = try RunConfig.load(arguments: arguments)
            config.applyThreadsAndPrintNotes()
            if config.isExportOnly {  // llamafactory-cli export's YAML: export_dir and nothing to train
                try Export.export(config, pluginOptions: pluginOptions, dryRun: dryRun, json: json)
                return
            }
            let plugins = try pluginOptions.load(extra: config.list("plugins") ?? [])
            defer { plugins.shutdown() }
            let plan = RunPlanner.plan(config, plugins: plugins)
            if dryRun {
                // the whole plan is printed, problems marked; any problem makes the exit status 1, so a script can trust it
                print(json ? plan.json().prettyPrinted() : plan.text())
                if let first = plan.problems.first {
                    throw ConfigProblem("plan incomplete: \(plan.problems.count) problem(s), the first: \(first)")
                }
                return
            }
            if let first = plan.problems.first { throw ConfigProblem(first) }
            if let item = PlanItem.first(.attention, in: plan.items) { print(try AttentionSelection.install(item)) }
            try TrainingJob.run(config, plugins: plugins, located: plan.model)
        }
    }
}
