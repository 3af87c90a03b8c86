// The file pickers' view of the disk: only inside the configured roots (WEBUI_ROOTS). A path is resolved
// (symbolic links and `..` followed) before it is compared, so no spelling reaches outside.
import FactoryJSON
import Foundation

public struct Folders: Sendable {
    public let roots: [String]

    /// The canonical absolute path of an existing file or folder, or nil.
    public static func resolved(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// `path` resolved, when it exists and lies inside a root; else why not, in one line.
    public func confined(_ path: String) -> Result<String, FolderRefusal> {
        guard let real = Folders.resolved(path) else { return .failure(FolderRefusal(status: 404, message: "\(path) does not exist")) }
        guard roots.contains(where: { real == $0 || real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            return .failure(FolderRefusal(status: 403, message: "\(path) is outside the folders the web UI may read (WEBUI_ROOTS: \(roots.joined(separator: ":")))"))
        }
        return .success(real)
    }

    /// A folder's entries: name, whether it is a folder, and whether it looks like a model (a Hugging Face
    /// folder with config.json, or a .gguf file). With no path: the roots themselves.
    public func listing(_ path: String?) -> Result<JSON, FolderRefusal> {
        guard let path, !path.isEmpty else {
            return .success(.object(JSONObject([("path", .null), ("entries", .array(roots.map { entry($0, name: $0) }))])))
        }
        switch confined(path) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let real):
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: real)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            return .success(.object(JSONObject([("path", .string(real)), ("entries", .array(names.map { entry(real + "/" + $0, name: $0) }))])))
        }
    }

    private func entry(_ path: String, name: String) -> JSON {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let model = isDirectory.boolValue ? FileManager.default.fileExists(atPath: path + "/config.json") : name.hasSuffix(".gguf")
        return .object(JSONObject([("name", .string(name)), ("path", .string(path)), ("folder", .bool(isDirectory.boolValue)), ("model", .bool(model))]))
    }

    /// The dataset names of a dataset_dir's dataset_info.json (inside the roots).
    public func datasets(_ directory: String) -> Result<JSON, FolderRefusal> {
        switch confined(directory) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let real):
            guard let data = FileManager.default.contents(atPath: real + "/dataset_info.json") else {
                return .failure(FolderRefusal(status: 404, message: "\(directory) has no dataset_info.json"))
            }
            guard let info = try? JSON.parse(bytes: [UInt8](data)), let object = info.objectValue else {
                return .failure(FolderRefusal(status: 422, message: "\(directory)/dataset_info.json is not a JSON object"))
            }
            return .success(.object(JSONObject([("dataset_dir", .string(real)), ("datasets", .array(object.keys.sorted().map { .string($0) }))])))
        }
    }
}

/// Why a path was refused: an HTTP status and one line.
public struct FolderRefusal: Error, Sendable {
    public let status: Int
    public let message: String
}
