import ArgumentParser
import FactoryConfig
import FactoryEngine
import FactoryHost
import FactoryPipeline
import FactoryTraining

/// What every model command takes: an optional config file, key=value overrides
/// (the keys of `run`), `--model PATH` for model_name_or_path, and plugin options.
struct ModelArguments: ParsableArguments {
    @Argument(help: "An optional YAML config file, then key=value overrides.")
    var arguments: [String] = []

    @Option(name: .customLong("model"), help: "Shorthand for model_name_or_path.")
    var model: String?

    @OptionGroup var pluginOptions: PluginOptions

    /// The config with overrides, --model and the command's own `flags` applied, every value checked
    /// against its range and the cross-key rules (notes printed); `threads` applied to the engine.
    func config(flags: [RunConfig.Flag] = []) throws -> RunConfig {
        let model = model.map { [RunConfig.Flag(key: "model_name_or_path", text: $0, origin: "--model")] } ?? []
        let config = try RunConfig.load(arguments: arguments, flags: model + flags)
        config.applyThreadsAndPrintNotes()
        return config
    }

    /// The model named by the config, loaded with the registered family plugin.
    func load(flags: [RunConfig.Flag] = []) throws -> (RunConfig, LoadedModel, PluginSet) {
        let config = try config(flags: flags)
        let (model, plugins) = try Self.loadModel(config, pluginOptions: pluginOptions)
        return (config, model, plugins)
    }

    /// The config's model with its plugins, attention kernel, quantizer and adapters (merged with merge: true),
    /// as chat, api, eval and `factory run` without training use it.
    static func loadModel(_ config: RunConfig, pluginOptions: PluginOptions) throws -> (LoadedModel, PluginSet) {
        guard let request = config.string("model_name_or_path") else {
            throw ConfigProblem("no model: pass --model PATH or set model_name_or_path")
        }
        let plugins = try pluginOptions.load(extra: config.list("plugins") ?? [])
        let attention = try AttentionSelection.install(config, plugins: plugins)
        if config.string("attention_kernel") != nil || config.string("flash_attn") != nil {
            fputs(attention + "; a generation's decoding steps read the KV cache with the host's decode attention (docs/attention.md)\n", stderr)
        }
        let quantizerItem = RunPlanner.quantizerItem(config, plugins)
        if let problem = quantizerItem.problem { throw ConfigProblem(problem) }
        // the base as it is (no adapter): a GGUF's weights may multiply from their own blocks when decoding
        let fileBlocks = (config.list("adapter_name_or_path") ?? []).isEmpty
        let model = try LoadedModel.load(request, plugins: plugins, quantizer: try quantizerItem.component.map { try QuantizerInstance($0, config: RunPlanner.quantizerConfig(config, $0)) },
                                         ropeScaling: config.ropeScaling(training: false), fileBlocks: fileBlocks, vocabulary: config.vocabularyChange())
        if let line = model.fileBlocksReport { fputs(line + "\n", stderr) }
        if let component = quantizerItem.component { fputs("quantized base (\(component.name)): " + (model.packReport?.line ?? "nothing packed") + "\n", stderr) }
        let merge = config.bool("merge") ?? false
        let adapted = try AdapterLoading.apply(config, to: model, plugins: plugins, merge: merge)
        if adapted != nil && merge && quantizerItem.component != nil {
            fputs("merge: the adapted linear weights were dequantized to fp32 to merge the adapter into them\n", stderr)
        }
        return (model, plugins)
    }
}

extension RunConfig {
    /// The one path from a command's positional arguments to a checked config: an optional YAML file
    /// first (an argument without '='), then key=value overrides, then the command's own flags.
    static func load(arguments: [String], flags: [Flag] = []) throws -> RunConfig {
        let file = arguments.first.flatMap { $0.contains("=") ? nil : $0 }
        return try RunConfig.load(file: file, overrides: Array(arguments.dropFirst(file == nil ? 0 : 1)), flags: flags)
    }

    /// `threads` to the engine (OpenBLAS's GEMM threads and the engine's loops alike), `int8_activations` to
    /// the packed products, and the notes to stderr.
    func applyThreadsAndPrintNotes() {
        if let threads = int("threads") { Threads.set(threads) }  // in range: the schema checked it
        PackedWeight.roundsInputsTo8Bits = bool("int8_activations") ?? true
        guard DataParallel.speaksForTheRun else { return }  // rank 0 speaks for mpirun's ranks
        for note in notes { printError("note: \(note)") }
    }
}

/// "1,2,3" → [1, 2, 3].
func parseIDs(_ text: String) throws -> [Int] {
    try text.split(separator: ",").map { piece in
        guard let n = Int(piece.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw ConfigProblem("--ids: '\(piece)' is not a token id") }
        return n
    }
}

import Foundation
