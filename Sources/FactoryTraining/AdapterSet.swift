import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline

/// Several adapters served over one loaded base (`factory api`'s api_adapters), as vLLM's multi-LoRA: each
/// adapter lives in its own parameter store that shares every base tensor, so the base is in memory once;
/// one linear hook runs each batch row with its own adapter (RowAdapters: 0 the base alone, i the i-th
/// adapter) — rows of one adapter go through its method together, over the shared base weights. An adapter
/// that would change base tensors themselves (modules_to_save, a trained embedding) cannot share the base
/// and is refused.
public final class AdapterSet {
    /// The adapters' names, in index order (index i + 1).
    public let names: [String]
    private let adapted: [AdaptedModel]

    /// Loads each (name, directory) over `model` (its own store sharing the base).
    public init(_ adapters: [(name: String, path: String)], over model: LoadedModel, plugins: PluginSet) throws {
        names = adapters.map(\.name)
        adapted = try adapters.map { name, path in
            let (component, config) = try AdapterLoading.methodConfig(adapterDirectory: path, plugins: plugins, model: model)
            let method = try FinetuningMethodInstance(component, config: .object(config))
            let trained = try method.plan(model: model.description)["trainable"]?.arrayValue ?? []
            guard trained.isEmpty else {
                throw TrainingError("api_adapters: '\(name)' (\(path)) also trains base tensors (\(trained.count), e.g. modules_to_save): it cannot share the base with others; serve it alone with adapter_name_or_path")
            }
            do {
                let adapter = try AdaptedModel(model: model.sharingBase(), method: method, adapterDirectory: path)
                for t in adapter.trainable { t.tensor.requiringGrad(false) }
                return adapter
            } catch {
                throw TrainingError("api_adapters: '\(name)' (\(path)): \(error)")
            }
        }
    }

    /// The index a request's model name picks (1 … names.count), nil for another name.
    public func index(of name: String) -> Int? { names.firstIndex(of: name).map { $0 + 1 } }

    /// Routes the current context's linear hook through the adapters, by RowAdapters.
    public func installHook() {
        let base = EngineHooks.linear
        EngineHooks.linear = { [adapted] name, x in
            func run(_ a: Int, _ x: Tensor) throws -> Tensor {
                guard a > 0 else { return try base(name, x) }
                let adapter = adapted[a - 1]
                guard adapter.adapted.contains(name) else { return try base(name, x) }
                let previous = ParameterStore.active
                ParameterStore.active = adapter.model.parameters
                defer { ParameterStore.active = previous }
                return try adapter.method.linear(name, x)
            }
            guard let rows = RowAdapters.indices, rows.contains(where: { $0 != 0 }) else { return try base(name, x) }
            guard rows.allSatisfy({ $0 >= 0 && $0 <= adapted.count }), x.rank >= 2, x.shape[0] == rows.count else {
                throw HookError("linear \(name): \(rows.count) row adapters for an input of shape \(x.shape)")
            }
            if rows.allSatisfy({ $0 == rows[0] }) { return try run(rows[0], x) }
            // each adapter's rows together, then every row back in its place
            var outputs: [Int: (rows: [Int], out: Tensor)] = [:]
            for a in Set(rows) {
                let mine = rows.indices.filter { rows[$0] == a }
                let input = concat(mine.map { x.slice(axis: 0, start: $0, length: 1) }, axis: 0)
                outputs[a] = (mine, try run(a, input))
            }
            return concat(rows.indices.map { r in
                let (mine, out) = outputs[rows[r]]!
                return out.slice(axis: 0, start: mine.firstIndex(of: r)!, length: 1)
            }, axis: 0)
        }
    }
}
