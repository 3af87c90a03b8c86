import FactoryJSON

/// Writes a safetensors file (fp32 tensors, in the given order), atomically: an 8-byte
/// little-endian header length, the JSON header padded with spaces to a multiple of 8, the data.
public enum SafetensorsWriter {
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public static func write(_ entries: [Entry], metadata: [(String, String)] = [("format", "pt")], to path: String) throws {
        var header = JSONObject()
        if !metadata.isEmpty { header["__metadata__"] = .object(JSONObject(metadata.map { ($0.0, .string($0.1)) })) }
        var offset = 0
        for e in entries {
            precondition(e.values.count == e.shape.reduce(1, *), "safetensors: \(e.name) has \(e.values.count) values for shape \(e.shape)")
            let size = e.values.count * 4
            header[e.name] = .object(JSONObject([
                ("dtype", "F32"), ("shape", .array(e.shape.map { .int(Int64($0)) })),
                ("data_offsets", [.int(Int64(offset)), .int(Int64(offset + size))]),
            ]))
            offset += size
        }
        var text = Array(JSON.object(header).serialized().utf8)
        while text.count % 8 != 0 { text.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + text.count + offset)
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { bytes += $0 }
        bytes += text
        for e in entries {
            // fp32 little-endian: this host's layout (x86-64, aarch64)
            bytes += UnsafeRawBufferPointer(e.values)
        }
        try AtomicFile.write(bytes, to: path)
    }
}
