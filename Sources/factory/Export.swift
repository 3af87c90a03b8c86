import ArgumentParser
import FactoryConfig
import FactoryExport
import FactoryHost
import FactoryPipeline

/// `factory export config.yaml [key=value ...]`: LLaMA-Factory's `llamafactory-cli export` on the same YAML.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge adapter_name_or_path into the model and write it to export_dir as a Hugging Face directory, or as GGUF (LLaMA-Factory's export keys).",
        discussion: "Keys: model_name_or_path, adapter_name_or_path (merged in order), template, export_dir, export_size (GB per file), infer_dtype (auto, float32, float16, bfloat16), export_format (hf, gguf, gguf_lora: the adapter alone, for llama.cpp's --lora); stage: rm also exports value_head.safetensors.")

    @OptionGroup var options: JobOptions

    @Flag(help: "Write export_dir/model.gguf (export_format: gguf).")
    var gguf = false

    @Flag(name: .customLong("gguf-lora"), help: "Write the adapter alone as llama.cpp's LoRA adapter, export_dir/adapter.gguf (export_format: gguf_lora).")
    var ggufLoRA = false

    func run() throws {
        try guarded {
            if gguf && ggufLoRA { throw ConfigProblem("--gguf and --gguf-lora: choose one (the merged model, or the adapter alone)") }
            let flags = gguf ? [RunConfig.Flag(key: "export_format", text: "gguf", origin: "--gguf")]
                : ggufLoRA ? [RunConfig.Flag(key: "export_format", text: "gguf_lora", origin: "--gguf-lora")] : []
            let config = try RunConfig.load(arguments: options.arguments, flags: flags)
            config.applyThreadsAndPrintNotes()
            try Export.export(config, pluginOptions: options.pluginOptions, dryRun: options.dryRun, json: options.json)
        }
    }

    /// The export itself, for `factory export` and for `factory run` with an export-only config; with
    /// `dryRun` only its plan, printed (exit status 1 when it has a problem, as `run --dry-run`).
    static func export(_ config: RunConfig, pluginOptions: PluginOptions, dryRun: Bool = false, json: Bool = false) throws {
        let plugins = try pluginOptions.load(extra: config.list("plugins") ?? [])
        defer { plugins.shutdown() }
        let plan = RunPlanner.plan(config, plugins: plugins).forExport()
        if dryRun {
            print(json ? plan.json().prettyPrinted() : plan.text() + "\n  export to \(config.string("export_dir") ?? "(export_dir unset)")")
            if let first = plan.problems.first { throw ConfigProblem("plan incomplete: \(plan.problems.count) problem(s), the first: \(first)") }
            guard config.string("export_dir") != nil else { throw ConfigProblem("set export_dir: the directory the exported model goes to") }
            return
        }
        if let problem = plan.problems.first { throw ConfigProblem(problem) }
        try ExportJob.run(config, plugins: plugins, located: plan.model)
    }
}
