// Where an adapter's saved tensors are read from, under PEFT's names: a PEFT directory's
// adapter_model.safetensors, or a llama.cpp LoRA GGUF read as one (GGUFLoRAAdapter).
import FactoryFormats
import FactoryPipeline
import Foundation

/// An adapter's saved tensors by PEFT name.
public protocol SavedAdapterTensors {
    /// The file, for messages.
    var path: String { get }
    var tensorNames: [String] { get }
    /// A tensor's shape (row-major); nil when the adapter has no tensor of that name.
    func shape(of name: String) -> [Int]?
    /// A tensor's values in fp32, in PEFT's layout.
    func float32(_ name: String) throws -> [Float]
}

extension SafetensorsFile: SavedAdapterTensors {
    public var tensorNames: [String] { Array(tensors.keys) }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
}

/// The saved tensors of `location` (adapter_name_or_path): a PEFT directory, or a file ending in .gguf.
func savedAdapterTensors(_ location: String, model: LoadedModel) throws -> SavedAdapterTensors {
    if location.hasSuffix(".gguf") { return try GGUFLoRAAdapter(path: location, model: model) }
    let path = location + "/adapter_model.safetensors"
    guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("\(location): no adapter_model.safetensors (adapter_name_or_path)") }
    return try SafetensorsFile(path: path)
}
