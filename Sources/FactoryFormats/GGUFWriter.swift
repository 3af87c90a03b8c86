// Writes a GGUF v3 file (ggml's docs/gguf.md): the header, the key-value metadata with each value in the
// type given, the tensor-info table, then every tensor's data at an offset aligned to general.alignment
// (32 unless the metadata says otherwise), streamed and atomically (AtomicFile). Tensor data are bytes
// the caller produces in the tensor's GGML type (f32, f16, bf16 or a block format).

/// What a GGUF file is written from.
public enum GGUFWriter {
    /// One metadata entry: its key, stored type and value (an array's items all of the element type).
    public struct Entry {
        public let key: String
        public let type: GGUFValueType
        public let value: GGUFValue
        public init(_ key: String, _ type: GGUFValueType, _ value: GGUFValue) { (self.key, self.type, self.value) = (key, type, value) }
    }

    /// One tensor: its name, shape (row-major, outermost first, as the reader's `shape`), GGML type, and
    /// how its bytes are made (exactly `type.byteCount(shape)` of them, handed over in pieces).
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let type: GGMLType
        public let produce: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
        public init(name: String, shape: [Int], type: GGMLType, produce: @escaping (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
            (self.name, self.shape, self.type, self.produce) = (name, shape, type, produce)
        }

        /// The data size: rows of the innermost dimension, each a whole number of blocks.
        public var byteCount: Int { (shape.dropLast().reduce(1, *)) * ((shape.last ?? 0) / type.blockSize) * type.blockBytes }
    }

    /// Writes `metadata` and `tensors` to `path`. Fails, naming the tensor, when a row is not a whole
    /// number of blocks or a tensor hands over another number of bytes than its type and shape make; the
    /// file at `path` is then left as it was.
    public static func write(metadata: [Entry], tensors: [Tensor], to path: String) throws {
        let alignment = metadata.first { $0.key == "general.alignment" }.flatMap { entry -> Int? in
            if case .uint(let a) = entry.value { return Int(a) }
            return nil
        } ?? 32
        var head: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { head += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { head += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); head += Array(s.utf8) }
        func value(_ v: GGUFValue, code: UInt32, element: UInt32?, key: String) throws {
            switch (code, v) {
            case (0, .uint(let u)): head.append(UInt8(truncatingIfNeeded: u))
            case (1, .int(let i)): head.append(UInt8(bitPattern: Int8(truncatingIfNeeded: i)))
            case (2, .uint(let u)): withUnsafeBytes(of: UInt16(truncatingIfNeeded: u).littleEndian) { head += $0 }
            case (3, .int(let i)): withUnsafeBytes(of: Int16(truncatingIfNeeded: i).littleEndian) { head += $0 }
            case (4, .uint(let u)): u32(UInt32(truncatingIfNeeded: u))
            case (5, .int(let i)): u32(UInt32(bitPattern: Int32(truncatingIfNeeded: i)))
            case (6, .float(let f)): u32(Float(f).bitPattern)
            case (7, .bool(let b)): head.append(b ? 1 : 0)
            case (8, .string(let s)): string(s)
            case (9, .array(let items)):
                guard let element else { throw GGUFError(file: path, message: "metadata '\(key)': an array needs an element type") }
                u32(element)
                u64(UInt64(items.count))
                for item in items { try value(item, code: element, element: nil, key: key) }
            case (10, .uint(let u)): u64(u)
            case (11, .int(let i)): u64(UInt64(bitPattern: i))
            case (12, .float(let f)): u64(f.bitPattern)
            default: throw GGUFError(file: path, message: "metadata '\(key)': value \(v) does not fit type \(code)")
            }
        }
        u32(0x4655_4747)  // "GGUF"
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for entry in metadata {
            string(entry.key)
            u32(entry.type.code)
            try value(entry.value, code: entry.type.code, element: entry.type.element, key: entry.key)
        }
        var offset = 0

        for t in tensors {
            guard let inner = t.shape.last, inner % t.type.blockSize == 0 else {
                throw GGUFError(file: path, message: "tensor '\(t.name)': rows of \(t.shape.last ?? 0) values are not whole \(t.type.description) blocks of \(t.type.blockSize)")
            }
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }  // ne[0] is the innermost dimension
            u32(t.type.rawValue)

            u64(UInt64(offset))
            offset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        let padding = [UInt8](repeating: 0, count: alignment)
        try AtomicFile.write(to: path) { append in
            try head.withUnsafeBytes { try append($0) }
            let headPad = (alignment - head.count % alignment) % alignment
            try padding.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<headPad])) }
            for t in tensors {
                let handed = try AtomicFile.forward(t.produce, to: append)
                guard handed == t.byteCount else {
                    throw GGUFError(file: path, message: "tensor '\(t.name)' gave \(handed) bytes; \(t.shape) in \(t.type.description) is \(t.byteCount)")
                }
                let pad = (alignment - handed % alignment) % alignment
                try padding.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<pad])) }
            }
        }
    }
}
