// What training leaves on disk. A PEFT method's adapter: adapter_model.safetensors (the tensors
// under the names the plan gave, PEFT's) and adapter_config.json (the plan's adapter_config
// with the base model's name). A method that trains the base: model.safetensors with the
// model's parameter names. Every file is written atomically.
import FactoryEngine
import FactoryFormats
import FactoryJSON
import Foundation

public enum AdapterFiles {
    /// Writes the trained tensors of `adapted` into `directory` (created if needed).
    public static func save(_ adapted: AdaptedModel, to directory: String, baseModel: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let peft = adapted.declaration.adapterFormat == "peft"
        let tensors: [(String, Tensor)] = peft
            ? adapted.trainable.map { ($0.savedAs, $0.tensor) }
            : adapted.model.parameters.names.compactMap { name in adapted.model.parameters[name].map { (name, $0) } }
        try writeTensors(tensors, to: directory + (peft ? "/adapter_model.safetensors" : "/model.safetensors"))
        if peft {
            var config = adapted.plan["adapter_config"]?.objectValue ?? JSONObject()
            config["base_model_name_or_path"] = .string(baseModel)
            try AtomicFile.write(JSON.object(config).prettyPrinted() + "\n", to: directory + "/adapter_config.json")
        }
    }

    /// Writes named tensors (contiguous copies where needed) as one fp32 safetensors file.
    static func writeTensors(_ tensors: [(String, Tensor)], to path: String) throws {
        let contiguous = tensors.map { ($0.0, $0.1.isContiguous ? $0.1 : $0.1.contiguousCopy()) }
        let entries = contiguous.map { name, t in
            SafetensorsWriter.Entry(name: name, shape: t.shape, values: UnsafeBufferPointer(start: t.data, count: t.count))
        }
        try withExtendedLifetime(contiguous) { try SafetensorsWriter.write(entries, to: path) }
    }
}
