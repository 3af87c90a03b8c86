// Freeze tuning, LLaMA-Factory's way: only some decoder layers train.
//   freeze_trainable_layers  N > 0: the last N layers; N < 0: the first |N| (default 2)
//   freeze_trainable_modules which modules of those layers ("all", or names such as mlp, self_attn)
//   freeze_extra_modules     modules outside the layers that also train (e.g. embed_tokens, norm)
// Saved as a whole model, like full fine-tuning.
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

/// The `freeze` fine-tuning method.
final class FreezeMethod: FinetuningMethodPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.finetuning.freeze", name: "freeze", version: "1.0.0", vendor: "Factory",
        summary: "Freeze tuning: the last (or first) N decoder layers train, the rest stays frozen")

    let layers: Int
    let modules: [String]
    let extra: [String]

    var info: FinetuningMethodInfo { FinetuningMethodInfo(trainsBase: true, quantizedBaseOK: false, adapterFormat: "full") }

    init(config: ConfigReader) throws {
        layers = try config.int("freeze_trainable_layers", default: 2)
        guard layers != 0 else { throw PluginError.invalidArgument("freeze: freeze_trainable_layers must not be 0") }
        modules = try FreezeMethod.list(config, "freeze_trainable_modules") ?? ["all"]
        extra = try FreezeMethod.list(config, "freeze_extra_modules") ?? []
        config.acceptShared()  // the run's whole fine-tuning section arrives; other methods' keys are not errors
    }

    static func list(_ config: ConfigReader, _ key: String) throws -> [String]? {
        switch config.value(key) {
        case nil, .null?: return nil
        case .string(let s)?: return s.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
        case .array(let items)?: return items.compactMap(\.stringValue)
        case let v?: throw PluginError.invalidArgument("freeze: \(key) must be a list or a comma-separated string, got \(v.serialized())")
        }
    }

    func plan(model: JSON) throws -> JSON {
        let names = (model["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let count = Int(model["kv_cache"]?["layers"]?.intValue ?? 0)
        guard count > 0 else { throw PluginError.invalidArgument("freeze: the model description gives no layer count") }
        guard abs(layers) <= count else {
            throw PluginError.invalidArgument("freeze: freeze_trainable_layers is \(layers) but the model has \(count) layers")
        }
        let chosen = Set(layers > 0 ? Array((count - layers)..<count) : Array(0..<(-layers)))
        var trainable: [String] = []
        for name in names {
            let parts = name.split(separator: ".").map(String.init)
            if parts.count > 3, parts[0] == "model", parts[1] == "layers", let l = Int(parts[2]) {
                guard chosen.contains(l) else { continue }
                if modules == ["all"] || modules.contains(where: { parts[3] == $0 || parts.dropFirst(3).contains($0) }) { trainable.append(name) }
            } else if extra.contains(where: { parts.contains($0) }) {
                trainable.append(name)
            }
        }
        guard !trainable.isEmpty else {
            throw PluginError.invalidArgument("freeze: freeze_trainable_modules \(modules.joined(separator: ",")) matches nothing in the chosen layers")
        }
        return .object(JSONObject([("trainable", .array(trainable.map { .string($0) })), ("added", []), ("adapted_linears", [])]))
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(finetuningMethods: [FreezeMethod.self]) }
}
