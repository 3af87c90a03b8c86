import ArgumentParser
import Foundation
import FactoryConfig
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryPipeline
import FactoryTraining

/// `factory run config.yaml [key=value ...]` (or `factory train`, LLaMA-Factory's verb): the main job.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a job described by a LLaMA-Factory-style YAML config (alias: train, LLaMA-Factory's verb).",
        discussion: "Keys and values follow LLaMA-Factory; key=value arguments override the file.", aliases: ["train"])

    @OptionGroup var options: JobOptions

    func run() throws {
        try guarded {
            let config = try RunConfig.load(arguments: options.arguments)  // a config that does not load is refused before any launch
            if !options.dryRun { try MPILaunch.replaceIfAsked() }  // NPROC_PER_NODE > 1: mpirun with this same command
            config.applyThreadsAndPrintNotes()
            if let task = config.string("task") {  // llamafactory-cli eval's YAML
                throw ConfigProblem("task: \(task) is a benchmark evaluation: run it with factory eval (llamafactory-cli eval), not factory run")
            }
            if config.isExportOnly {  // llamafactory-cli export's YAML: export_dir and nothing to train
                try Export.export(config, pluginOptions: options.pluginOptions, dryRun: options.dryRun, json: options.json)
                return
            }
            if config.isEvaluationOnly {  // do_eval / do_predict without training (LLaMA-Factory's do_train defaults to false)
                try EvaluationJob.check(config)
                if options.dryRun {
                    let conversations = try DatasetLoader.evaluationConversations(config) { print($0) }
                    print("evaluation without training: \(conversations.count) conversations; "
                          + ["do_eval", "do_predict"].filter { config.bool($0) == true }.joined(separator: ", ") + " into \(EvaluationJob.outputDir(config))")
                    return
                }
                let (model, plugins) = try ModelArguments.loadModel(config, pluginOptions: options.pluginOptions)
                defer { plugins.shutdown() }
                try EvaluationJob.run(config, model: model, plugins: plugins)
                return
            }
            let plugins = try options.pluginOptions.load(extra: config.list("plugins") ?? [])
            defer { plugins.shutdown() }
            let plan = RunPlanner.plan(config, plugins: plugins)
            if options.dryRun {
                // the whole plan is printed, problems marked; any problem makes the exit status 1, so a script can trust it
                print(options.json ? plan.json().prettyPrinted() : plan.text())
                if let first = plan.problems.first {
                    throw ConfigProblem("plan incomplete: \(plan.problems.count) problem(s), the first: \(first)")
                }
                return
            }
            if let first = plan.problems.first { throw ConfigProblem(first) }
            if let item = PlanItem.first(.attention, in: plan.items) {
                let generates = config.bool("predict_with_generate") ?? false
                let line = try AttentionSelection.install(item) + (generates ? "; predict_with_generate's decoding steps read the KV cache with the host's decode attention (docs/attention.md)" : "")
                if DataParallel.speaksForTheRun { print(line) }
            }
            try TrainingJob.run(config, plugins: plugins, located: plan.model)
        }
    }
}
