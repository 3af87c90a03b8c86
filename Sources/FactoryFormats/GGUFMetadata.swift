#if canImport(Glibc)
import Glibc
#endif

/// A GGUF metadata value (GGUF v2/v3 value types 0-12).
public indirect enum GGUFValue: Equatable, Sendable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A GGUF value's stored type: the type code (0-12) and, for an array (9), its elements' code.
public struct GGUFValueType: Equatable, Sendable {
    public let code: UInt32
    public let element: UInt32?
    public init(code: UInt32, element: UInt32?) { (self.code, self.element) = (code, element) }

    public static let uint32 = GGUFValueType(code: 4, element: nil), int32 = GGUFValueType(code: 5, element: nil)
    public static let float32 = GGUFValueType(code: 6, element: nil), bool = GGUFValueType(code: 7, element: nil)
    public static let string = GGUFValueType(code: 8, element: nil), uint64 = GGUFValueType(code: 10, element: nil)
    public static func array(of element: UInt32) -> GGUFValueType { GGUFValueType(code: 9, element: element) }
}

/// A GGUF file that is not what it claims: names the file, the offset and what was expected.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// The header and key-value metadata of a GGUF file (the tensor table and
/// data are read by the model loader). Spec: ggml's docs/gguf.md.
public struct GGUFMetadata {
    public let version: UInt32
    public let tensorCount: UInt64
    public let values: [String: GGUFValue]
    /// Keys in file order.
    public let keys: [String]
    /// Each key's GGUF value type as stored (and an array's element type), so a writer can copy a value
    /// exactly: llama.cpp checks the type of what it reads (UINT32 for a count, INT32 for token types).
    public var types: [String: GGUFValueType] = [:]
    /// Byte offset just after the metadata (where the tensor-info table starts).
    public let endOffset: Int

    /// A string value, or nil.
    public func string(_ key: String) -> String? { values[key]?.stringValue }

    /// An integer value (any GGUF integer type), or nil.
    public func int(_ key: String) -> Int? {
        switch values[key] {
        case .uint(let u)?: return Int(exactly: u)
        case .int(let i)?: return Int(exactly: i)
        default: return nil
        }
    }

    /// A floating-point value (or integer), or nil.
    public func double(_ key: String) -> Double? {
        switch values[key] {
        case .float(let f)?: return f
        case .uint(let u)?: return Double(u)
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }

    /// `general.architecture`, e.g. "llama".
    public var architecture: String? { values["general.architecture"]?.stringValue }

    /// Reads the header and metadata of `path`.
    public static func read(file path: String) throws -> GGUFMetadata {
        let bytes = try MappedFile(path: path)
        return try withExtendedLifetime(bytes) { try parse(bytes.buffer, file: path) }
    }

    /// Parses the header and metadata from the start of `buffer`.
    static func parse(_ buffer: UnsafeRawBufferPointer, file path: String) throws -> GGUFMetadata {
        var r = ByteReader(bytes: buffer, file: path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else { throw GGUFError(file: path, message: "not a GGUF file (magic is not 'GGUF')") }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else { throw GGUFError(file: path, message: "GGUF version \(version) is not supported (2 or 3)") }
        let tensorCount = try r.u64("tensor count")
        let kvCount = try r.u64("metadata count")
        guard kvCount < 1_000_000 else { throw GGUFError(file: path, message: "metadata count \(kvCount) is implausible") }
        var values: [String: GGUFValue] = [:]
        var keys: [String] = []
        var types: [String: GGUFValueType] = [:]
        for _ in 0..<kvCount {
            let key = try r.string("metadata key")
            let type = try r.u32("type of '\(key)'")
            if type == 9, let element = r.peekU32() { types[key] = GGUFValueType(code: type, element: element) } else { types[key] = GGUFValueType(code: type, element: nil) }
            values[key] = try r.value(type: type, key: key)
            keys.append(key)
        }
        var metadata = GGUFMetadata(version: version, tensorCount: tensorCount, values: values, keys: keys, endOffset: r.offset)
        metadata.types = types
        return metadata
    }
}

/// Little-endian reads over a byte buffer; running past the end names the offset and the field.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - offset else {
            throw GGUFError(file: file, message: "truncated at offset \(offset) reading \(what) (\(n) bytes needed, \(bytes.count - offset) left)")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }

    mutating func u32(_ what: String) throws -> UInt32 { try take(4, what).loadUnaligned(as: UInt32.self).littleEndian }

    /// The next 4 bytes as a UInt32 without moving past them (nil at the end).
    func peekU32() -> UInt32? {
        guard bytes.count - offset >= 4 else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]).loadUnaligned(as: UInt32.self).littleEndian
    }
    mutating func u64(_ what: String) throws -> UInt64 { try take(8, what).loadUnaligned(as: UInt64.self).littleEndian }

    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(bytes.count) else { throw GGUFError(file: file, message: "\(what) at offset \(offset - 8) claims \(n) bytes, more than the file") }
        return String(decoding: try take(Int(n), what), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String) throws -> GGUFValue {
        let what = "value of '\(key)'"
        switch type {
        case 0: return .uint(UInt64(try take(1, what).load(as: UInt8.self)))
        case 1: return .int(Int64(try take(1, what).load(as: Int8.self)))
        case 2: return .uint(UInt64(try take(2, what).loadUnaligned(as: UInt16.self).littleEndian))
        case 3: return .int(Int64(try take(2, what).loadUnaligned(as: Int16.self).littleEndian))
        case 4: return .uint(UInt64(try u32(what)))
        case 5: return .int(Int64(Int32(bitPattern: try u32(what))))
        case 6: return .float(Double(Float(bitPattern: try u32(what))))
        case 7: return .bool(try take(1, what).load(as: UInt8.self) != 0)
        case 8: return .string(try string(what))
        case 9:
            let elementType = try u32("element type of '\(key)'")
            let count = try u64("length of '\(key)'")
            guard count <= UInt64(bytes.count - offset) else {
                throw GGUFError(file: file, message: "array '\(key)' at offset \(offset) claims \(count) elements, more than the file holds")
            }
            guard elementType != 9 || count < 1_000_000 else { throw GGUFError(file: file, message: "array '\(key)' nests too deep") }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try value(type: elementType, key: key)) }
            return .array(items)
        case 10: return .uint(try u64(what))
        case 11: return .int(Int64(bitPattern: try u64(what)))
        case 12: return .float(Double(bitPattern: try u64(what)))
        default:
            throw GGUFError(file: file, message: "unknown value type \(type) for '\(key)' at offset \(offset - 4)")
        }
    }
}

/// A read-only memory map of a whole file, unmapped on deinit.
public final class MappedFile {
    public let buffer: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    public init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(file: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError(file: path, message: "cannot stat") }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            buffer = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(file: path, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = p
        buffer = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base { munmap(base, buffer.count) }
    }
}

extension GGUFMetadata {
    /// Metadata as a writer holds it, before any file: GGUF v3, no tensors.
    public init(entries: [GGUFWriter.Entry]) {
        self.init(version: 3, tensorCount: 0, values: Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }),
                  keys: entries.map(\.key), endOffset: 0)
        types = Dictionary(entries.map { ($0.key, $0.type) }, uniquingKeysWith: { _, last in last })
    }
}
