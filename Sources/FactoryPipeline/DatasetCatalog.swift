import FactoryJSON
import Foundation

/// One entry of a dataset_info.json, as far as planning needs it.
public struct DatasetEntry: Sendable {
    public let name: String
    /// `file_name` (or `hf_hub_url` etc. for remote sets, which Factory cannot fetch).
    public let source: String
    public let formatting: String
}

/// A dataset_info.json (LLaMA-Factory's schema), read to resolve `dataset:` names.
public struct DatasetCatalog {
    public let path: String
    let entries: JSONObject

    /// Reads `<dir>/dataset_info.json`.
    public static func load(directory: String) throws -> DatasetCatalog {
        let path = directory + "/dataset_info.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigProblem("\(path): not found (dataset_dir is '\(directory)')")
        }
        let json: JSON
        do { json = try data.withUnsafeBytes { try JSON.parse(bytes: $0) } } catch { throw ConfigProblem("\(path): \(error)") }
        guard let object = json.objectValue else { throw ConfigProblem("\(path): must be a JSON object of dataset names") }
        return DatasetCatalog(path: path, entries: object)
    }

    /// The entry for `name`; the error lists the names the file has.
    public func entry(_ name: String) throws -> DatasetEntry {
        guard let e = entries[name]?.objectValue else {
            let known = entries.keys.prefix(12).joined(separator: ", ") + (entries.count > 12 ? ", ..." : "")
            throw ConfigProblem("dataset '\(name)' is not in \(path) (it has: \(known))")
        }
        let source = e["file_name"]?.stringValue ?? e["hf_hub_url"]?.stringValue.map { "hub:" + $0 } ?? e["ms_hub_url"]?.stringValue.map { "hub:" + $0 } ?? "?"
        return DatasetEntry(name: name, source: source, formatting: e["formatting"]?.stringValue ?? "alpaca")
    }
}

/// A one-line problem found while planning.
public struct ConfigProblem: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
