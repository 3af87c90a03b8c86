// How an export splits its weights into safetensors files, as transformers' save_pretrained does with
// max_shard_size (LLaMA-Factory's export_size, in GB of 10^9 bytes): tensors in order, a new file when the
// next one would pass the limit (a tensor larger than the limit gets a file of its own); one file is
// model.safetensors, several are model-0000i-of-0000n.safetensors with model.safetensors.index.json.
import FactoryJSON

/// The files of an export and the tensors in each.
public struct ShardPlan {
    /// Each file's name and the indices (into the planned tensors) it holds, in order.
    public let files: [(name: String, tensors: [Int])]
    /// The bytes of all tensors' data.
    public let totalBytes: Int

    /// `sizes`: each tensor's data size in bytes, in writing order; `limit`: bytes per file.
    public init(sizes: [Int], limit: Int) {
        var groups: [[Int]] = [], current: [Int] = [], currentBytes = 0
        for (i, size) in sizes.enumerated() {
            if !current.isEmpty && currentBytes + size > limit {
                groups.append(current)
                (current, currentBytes) = ([], 0)
            }
            current.append(i)
            currentBytes += size
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        let n = groups.count
        files = groups.enumerated().map { k, group in
            (n == 1 ? "model.safetensors" : "model-\(Self.padded(k + 1))-of-\(Self.padded(n)).safetensors", group)
        }
        totalBytes = sizes.reduce(0, +)
    }

    static func padded(_ i: Int) -> String {
        let digits = String(i)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// model.safetensors.index.json's content for tensors named `names` (nil with a single file).
    public func index(names: [String]) -> JSON? {
        guard files.count > 1 else { return nil }
        var map: [(String, JSON)] = []
        for (file, tensors) in files { for i in tensors { map.append((names[i], .string(file))) } }
        map.sort { $0.0 < $1.0 }
        return .object(JSONObject([("metadata", .object(JSONObject([("total_size", .int(Int64(totalBytes)))]))),
                                   ("weight_map", .object(JSONObject(map)))]))
    }

    /// Whether `file` is one an export writes (model.safetensors, a shard or the index): what a new export
    /// removes from its directory when its own set of files differs, as save_pretrained cleans up.
    public static func isWeightFile(_ file: String) -> Bool {
        file == "model.safetensors" || file == "model.safetensors.index.json"
            || (file.hasPrefix("model-") && file.hasSuffix(".safetensors") && file.contains("-of-"))
    }
}
