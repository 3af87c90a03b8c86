import FactoryJSON

/// One entry of dataset_info.json (LLaMA-Factory's schema), with its defaults filled in.
public struct DatasetAttributes: Sendable {
    public enum Formatting: String, Sendable { case alpaca, sharegpt, openai }

    public let name: String
    public let fileName: String
    public let formatting: Formatting
    public let ranking: Bool
    public let split: String
    public let numSamples: Int?
    /// Column names: prompt, query, response, history, messages, system, tools, chosen, rejected, kto_tag.
    public let columns: [String: String]
    /// sharegpt/openai tags: role_tag, content_tag, user_tag, assistant_tag, observation_tag, function_tag, system_tag.
    public let tags: [String: String]

    static let alpacaColumns = ["prompt": "instruction", "query": "input", "response": "output"]
    static let sharegptColumns = ["messages": "conversations"]
    static let openaiColumns = ["messages": "messages"]
    static let sharegptTags = ["role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                               "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"]
    static let openaiTags = ["role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                             "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system"]
    static let knownKeys: Set<String> = ["file_name", "formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags",
                                         "hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "load_from"]
    /// LLaMA-Factory's column names; the multimodal ones are refused until a multimodal family exists.
    static let knownColumns: Set<String> = ["prompt", "query", "response", "history", "messages", "system", "tools", "chosen", "rejected", "kto_tag"]
    static let multimodalColumns: Set<String> = ["images", "videos", "audios"]
    static let knownTags: Set<String> = Set(sharegptTags.keys)
    /// Keys that only make sense for hub or scripted datasets: refused beside a local file_name rather than ignored.
    static let hubOnlyKeys = ["subset", "folder", "script_url", "cloud_file_name"]

    init(name: String, entry: JSONObject, source: String) throws {
        self.name = name
        for key in entry.keys where !DatasetAttributes.knownKeys.contains(key) {
            throw DataError("\(source): dataset '\(name)': unknown key '\(key)'")
        }
        guard let file = entry["file_name"]?.stringValue else {
            if entry["hf_hub_url"] != nil || entry["ms_hub_url"] != nil || entry["om_hub_url"] != nil {
                throw DataError("\(source): dataset '\(name)' is on a hub (Factory never downloads); give it a local file_name")
            }
            throw DataError("\(source): dataset '\(name)' has no file_name")
        }
        fileName = file
        for key in DatasetAttributes.hubOnlyKeys where entry[key] != nil && entry[key] != .null {
            throw DataError("\(source): dataset '\(name)': \(key) applies to hub or scripted datasets; Factory reads the local file_name only")
        }
        let formattingName = entry["formatting"]?.stringValue ?? "alpaca"
        guard let f = Formatting(rawValue: formattingName) else {
            throw DataError("\(source): dataset '\(name)': formatting '\(formattingName)' is not alpaca, sharegpt or openai")
        }
        formatting = f
        ranking = entry["ranking"]?.boolValue ?? false
        split = entry["split"]?.stringValue ?? "train"
        guard split == "train" else {
            throw DataError("\(source): dataset '\(name)': split '\(split)' — a local file has only the train split (as the datasets library loads it)")
        }
        numSamples = entry["num_samples"]?.intValue.map(Int.init)
        if let n = numSamples, n < 1 { throw DataError("\(source) \(name).num_samples: \(n) is out of range (expected ≥ 1)") }
        var columns = f == .alpaca ? DatasetAttributes.alpacaColumns : (f == .sharegpt ? DatasetAttributes.sharegptColumns : DatasetAttributes.openaiColumns)
        for (k, v) in entry["columns"]?.objectValue?.pairs ?? [] {
            if DatasetAttributes.multimodalColumns.contains(k) {
                throw DataError("\(source): dataset '\(name)': columns.\(k) — multimodal data is refused: no multimodal model family exists yet "
                                + "(its <image>/<video>/<audio> placeholders would be trained as text)")
            }
            guard DatasetAttributes.knownColumns.contains(k) else {
                throw DataError("\(source): dataset '\(name)': unknown column '\(k)' (LLaMA-Factory's: \(DatasetAttributes.knownColumns.sorted().joined(separator: ", ")))")
            }
            guard let column = v.stringValue else { throw DataError("\(source): dataset '\(name)': column '\(k)' must name a field") }
            columns[k] = column
        }
        self.columns = columns
        var tags = f == .openai ? DatasetAttributes.openaiTags : DatasetAttributes.sharegptTags
        for (k, v) in entry["tags"]?.objectValue?.pairs ?? [] {
            guard DatasetAttributes.knownTags.contains(k) else {
                throw DataError("\(source): dataset '\(name)': unknown tag '\(k)' (\(DatasetAttributes.knownTags.sorted().joined(separator: ", ")))")
            }
            guard let tag = v.stringValue else { throw DataError("\(source): dataset '\(name)': tag '\(k)' must be a string") }
            tags[k] = tag
        }
        self.tags = tags
    }
}

/// dataset_info.json: names → attributes.
public struct DatasetInfo {
    public let path: String
    public let directory: String
    let entries: JSONObject

    public init(directory: String) throws {
        self.directory = directory
        path = directory + "/dataset_info.json"
        guard let bytes = readBytes(path) else { throw DataError("\(path): not found (dataset_dir is '\(directory)')") }
        let json: JSON
        do { json = try JSON.parse(bytes: bytes) } catch { throw DataError("\(path): \(error)") }
        guard let object = json.objectValue else { throw DataError("\(path): must be a JSON object of dataset names") }
        entries = object
    }

    public var names: [String] { entries.keys }

    public func attributes(_ name: String) throws -> DatasetAttributes {
        guard let entry = entries[name]?.objectValue else {
            throw DataError("dataset '\(name)' is not in \(path) (it has: \(entries.keys.prefix(12).joined(separator: ", "))\(entries.count > 12 ? ", ..." : ""))")
        }
        return try DatasetAttributes(name: name, entry: entry, source: path)
    }
}
