// `adapter_name_or_path` for inference (chat, generate, score): the adapter's own
// adapter_config.json says which method and settings made it; the method is applied with the
// saved tensors, and either routes the linear hook for good or is merged into the base weights.
// Merging knows nothing about LoRA: the merged weight of an adapted linear is what the method's
// linear makes of the identity matrix, minus the bias (y = I·W'ᵀ + b).
import FactoryConfig
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

public enum AdapterLoading {
    /// The method an adapter directory was made with and its saved config: the fine-tuning-method
    /// plugin whose descriptor declares the feature "peft_type:<its peft_type>", created with
    /// {"adapter_config": <adapter_config.json>} — the plugin reads its own format (the host knows none).
    /// A path ending in .gguf is a llama.cpp LoRA adapter, read for `model` as the PEFT LoRA adapter it is.
    public static func methodConfig(adapterDirectory dir: String, plugins: PluginSet, model: LoadedModel? = nil) throws -> (method: Component, config: JSONObject) {
        let path = dir.hasSuffix(".gguf") ? dir : dir + "/adapter_config.json"
        let json: JSON
        if dir.hasSuffix(".gguf") {
            guard let model else { throw TrainingError("\(dir): a GGUF adapter is read for a model, and none is loaded here") }
            json = try GGUFLoRAAdapter(path: dir, model: model).adapterConfig
        } else {
            guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(dir): no adapter_config.json (adapter_name_or_path)") }
            do { json = try JSON.parse(bytes: [UInt8](data)) } catch { throw TrainingError("\(path): not valid JSON (\(error))") }
        }
        let type = json["peft_type"]?.stringValue ?? "none"
        let methods = plugins.registry(.finetuningMethod)
        guard let method = methods.components.first(where: { $0.features.contains("peft_type:" + type) }) else {
            throw TrainingError("\(path): peft_type '\(type)' is not supported: no fine-tuning method plugin declares it (registered: \(methods.names.joined(separator: ", ")))")
        }
        return (method, JSONObject([("adapter_config", json)]))
    }

    /// Applies the adapters of `config` (adapter_name_or_path; the last one if several) to `model`.
    /// Returns nil when none is set. With `merge` the weights are merged and no hook stays.
    @discardableResult
    public static func apply(_ config: RunConfig, to model: LoadedModel, plugins: PluginSet, merge: Bool) throws -> AdaptedModel? {
        try apply(config.list("adapter_name_or_path") ?? [], to: model, plugins: plugins, merge: merge)
    }

    /// Applies the adapters in `dirs` to `model`, in order: each is merged into the base weights, except a
    /// single one when `merge` is false, which stays routed through the linear hook. `key`
    /// names the config key that listed them, for messages. Returns the last; nil when `dirs` is empty.
    @discardableResult
    public static func apply(_ dirs: [String], to model: LoadedModel, plugins: PluginSet, merge: Bool,
                             key: String = "adapter_name_or_path") throws -> AdaptedModel? {
        var last: AdaptedModel?
        for dir in dirs {
            let (component, methodConfig) = try methodConfig(adapterDirectory: dir, plugins: plugins, model: model)
            let adapted: AdaptedModel
            do {
                let method = try FinetuningMethodInstance(component, config: .object(methodConfig))
                adapted = try AdaptedModel(model: model, method: method, adapterDirectory: dir)
            } catch let error as TrainingError where error.message.hasPrefix(dir) {
                throw error
            } catch {
                throw TrainingError("\(dir) (\(key)): \(error)")
            }
            for t in adapted.trainable { t.tensor.requiringGrad(false) }
            if merge || dirs.count > 1 { try adapted.mergeIntoBase() } else { adapted.installHooks() }
            last = adapted
        }
        return last
    }
}

extension AdaptedModel {
    /// Routes the linear hook to the method from now on (inference with an unmerged adapter).
    public func installHooks() {
        let method = self.method, adapted = self.adapted
        EngineHooks.linear = { name, x in
            adapted.contains(name) ? try method.linear(name, x) : try EngineHooks.baseLinear(name, x)
        }
    }

    /// Folds every adapted linear into its base weight (W ← what linear(I) gives, minus the bias).
    /// A packed (quantized) base weight is dequantized to fp32 first; returns how many were.
    @discardableResult
    public func mergeIntoBase() throws -> Int {
        var dequantizedForMerge = 0
        defer { if dequantizedForMerge > 0 { BufferPool.shared.trim() } }
        try GradMode.disabled {
            for name in adapted.sorted() {
                if let packed = model.parameters.packed[name + ".weight"] {  // merging needs the weight unpacked
                    model.parameters[name + ".weight"] = try packed.unpacked()
                    model.parameters.packed[name + ".weight"] = nil
                    dequantizedForMerge += 1
                }
                guard let w = model.parameters[name + ".weight"] ?? model.parameters[name] else {
                    throw TrainingError("merge: '\(name)' has no base weight")
                }
                let n = w.shape[1]
                let identity = Tensor(shape: [n, n], zeroed: true)
                for i in 0..<n { identity.data[i * n + i] = 1 }
                let y = try withPluginHandleScope {
                    try withHooks { () throws -> Tensor in
                        let previous = ParameterStore.active
                        ParameterStore.active = model.parameters
                        defer { ParameterStore.active = previous }
                        return try EngineHooks.linear(name, identity)
                    }.contiguous()
                }
                let bias = model.parameters[name + ".bias"]
                let out = w.shape[0]
                for o in 0..<out {
                    let b = bias.map { $0.contiguous().data[o] } ?? 0
                    for i in 0..<n { w.data[o * n + i] = y.data[i * out + o] - b }
                }
            }
        }
        return dequantizedForMerge
    }
}
