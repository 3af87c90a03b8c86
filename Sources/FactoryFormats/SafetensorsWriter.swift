import FactoryJSON

/// Writes a safetensors file (tensors in the given order), atomically and streamed: an 8-byte
/// little-endian header length, the JSON header padded with spaces to a multiple of 8, the data.
public enum SafetensorsWriter {
    /// One tensor: its name, shape, safetensors dtype ("F32", "F16", "BF16") and how its bytes are made.
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let dtype: String
        /// The tensor's size in bytes: what `produce` must hand to its appender, in total.
        public let byteCount: Int
        /// Hands the tensor's little-endian bytes to the appender, in one or more pieces.
        public let produce: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

        public init(name: String, shape: [Int], dtype: String, byteCount: Int,
                    produce: @escaping (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
            (self.name, self.shape, self.dtype, self.byteCount, self.produce) = (name, shape, dtype, byteCount, produce)
        }

        /// fp32 values as they are in memory (little-endian on this host: x86-64, aarch64); the buffer
        /// must outlive the write.
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            precondition(values.count == shape.reduce(1, *), "safetensors: \(name) has \(values.count) values for shape \(shape)")
            self.init(name: name, shape: shape, dtype: "F32", byteCount: values.count * 4) { append in try append(UnsafeRawBufferPointer(values)) }
        }
    }

    /// The header bytes (length prefix included) for `entries` in order; each entry's data follows in turn.
    public static func header(_ entries: [Entry], metadata: [(String, String)] = [("format", "pt")]) -> [UInt8] {
        var header = JSONObject()
        if !metadata.isEmpty { header["__metadata__"] = .object(JSONObject(metadata.map { ($0.0, .string($0.1)) })) }
        var offset = 0
        for e in entries {
            header[e.name] = .object(JSONObject([
                ("dtype", .string(e.dtype)), ("shape", .array(e.shape.map { .int(Int64($0)) })),
                ("data_offsets", [.int(Int64(offset)), .int(Int64(offset + e.byteCount))]),
            ]))
            offset += e.byteCount
        }
        var text = Array(JSON.object(header).serialized().utf8)
        while text.count % 8 != 0 { text.append(0x20) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { bytes += $0 }
        return bytes + text
    }

    /// Writes `entries` to `path` (atomically: AtomicFile); an entry that hands over a different number of
    /// bytes than it declared fails the write, naming it, and leaves `path` as it was.
    public static func write(_ entries: [Entry], metadata: [(String, String)] = [("format", "pt")], to path: String) throws {
        let head = header(entries, metadata: metadata)
        try AtomicFile.write(to: path) { append in
            try head.withUnsafeBytes { try append($0) }
            for e in entries {
                let handed = try AtomicFile.forward(e.produce, to: append)
                guard handed == e.byteCount else {
                    throw AtomicFile.WriteError(path: path, reason: "tensor \(e.name) gave \(handed) bytes, its header says \(e.byteCount)")
                }
            }
        }
    }
}
