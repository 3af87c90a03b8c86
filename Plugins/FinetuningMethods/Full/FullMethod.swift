// Full fine-tuning: every base parameter trains; nothing is added. Saved as a whole model
// (Hugging Face safetensors + config + tokenizer files).
import CFactoryABI
import FactoryJSON
import FactoryPluginKit

/// The `full` fine-tuning method.
final class FullMethod: FinetuningMethodPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.finetuning.full", name: "full", version: "1.0.0", vendor: "Factory",
        summary: "Full fine-tuning: every parameter trains")

    var info: FinetuningMethodInfo { FinetuningMethodInfo(trainsBase: true, quantizedBaseOK: false, adapterFormat: "full") }

    init(config: ConfigReader) throws {
        config.acceptShared()  // the run's whole fine-tuning section arrives; other methods' keys are not errors
    }

    func plan(model: JSON) throws -> JSON {
        let names = (model["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        return .object(JSONObject([("trainable", .array(names.map { .string($0) })), ("added", []), ("adapted_linears", [])]))
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(finetuningMethods: [FullMethod.self]) }
}
