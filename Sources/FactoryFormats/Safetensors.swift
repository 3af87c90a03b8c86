import FactoryJSON

/// A safetensors error: the file, and the tensor or offset that is wrong.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// One tensor of a safetensors file.
public struct SafetensorsTensor: Sendable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int
    public let end: Int
    public var count: Int { shape.reduce(1, *) }
}

/// A safetensors file (8-byte little-endian header length, JSON header, data),
/// read by mmap. F32, F16 and BF16 tensors convert to fp32.
/// Spec: huggingface/safetensors README ("Format").
public final class SafetensorsFile {
    public let path: String
    public let tensors: [String: SafetensorsTensor]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataOffset: Int

    static let elementSize: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    public init(path: String) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch let e as GGUFError { throw SafetensorsError(file: path, message: e.message) }
        let buffer = file.buffer
        guard buffer.count >= 8 else { throw SafetensorsError(file: path, message: "truncated: \(buffer.count) bytes, the header length alone needs 8") }
        let headerLength = buffer.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(buffer.count - 8), headerLength <= 100_000_000 else {
            throw SafetensorsError(file: path, message: "header claims \(headerLength) bytes but the file has \(buffer.count - 8) after the length")
        }
        dataOffset = 8 + Int(headerLength)
        let header: JSON
        do { header = try JSON.parse(bytes: UnsafeRawBufferPointer(rebasing: buffer[8..<dataOffset])) } catch {
            throw SafetensorsError(file: path, message: "header is not valid JSON: \(error)")
        }
        guard let object = header.objectValue else { throw SafetensorsError(file: path, message: "header is not a JSON object") }
        var tensors: [String: SafetensorsTensor] = [:]
        var metadata: [String: String] = [:]
        let dataSize = buffer.count - dataOffset
        for (name, value) in object.pairs {
            if name == "__metadata__" {
                for (k, v) in value.objectValue?.pairs ?? [] { metadata[k] = v.stringValue ?? v.serialized() }
                continue
            }
            guard let dtype = value["dtype"]?.stringValue, let shapeJSON = value["shape"]?.arrayValue,
                  let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue else {
                throw SafetensorsError(file: path, message: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeJSON.map { d -> Int in
                guard let n = d.intValue, n >= 0, n <= Int64(Int32.max) else { throw SafetensorsError(file: path, message: "tensor '\(name)' has a bad shape") }
                return Int(n)
            }
            guard let size = SafetensorsFile.elementSize[dtype] else {
                throw SafetensorsError(file: path, message: "tensor '\(name)' has dtype \(dtype), which Factory does not know")
            }
            let expected = shape.reduce(1, *) * size
            guard begin >= 0, end >= begin, Int(end - begin) == expected else {
                throw SafetensorsError(file: path, message: "tensor '\(name)' (\(dtype) \(shape)) spans bytes \(begin)..<\(end), expected \(expected) bytes")
            }
            guard Int(end) <= dataSize else {
                throw SafetensorsError(file: path, message: "tensor '\(name)' ends at data byte \(end) but the data section has \(dataSize) bytes: truncated?")
            }
            tensors[name] = SafetensorsTensor(name: name, dtype: dtype, shape: shape, begin: Int(begin), end: Int(end))
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// A tensor as fp32 (F32, F16, BF16).
    public func float32(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw SafetensorsError(file: path, message: "no tensor named '\(name)'") }
        let base = file.buffer.baseAddress! + dataOffset + t.begin
        return try [Float](unsafeUninitializedCapacity: t.count) { out, n in
            switch t.dtype {
            case "F32": GGMLDequantizer.dequantize(.f32, base, count: t.count, into: out.baseAddress!)
            case "F16": GGMLDequantizer.dequantize(.f16, base, count: t.count, into: out.baseAddress!)
            case "BF16": GGMLDequantizer.dequantize(.bf16, base, count: t.count, into: out.baseAddress!)
            default: throw SafetensorsError(file: path, message: "tensor '\(name)' is \(t.dtype); only F32, F16 and BF16 convert to fp32")
            }
            n = t.count
        }
    }
}

/// The tensors of a Hugging Face model directory: one model.safetensors, or
/// shards listed in model.safetensors.index.json ("weight_map").
public final class SafetensorsCheckpoint {
    public let files: [SafetensorsFile]
    private let owner: [String: SafetensorsFile]

    public init(directory: String) throws {
        let index = directory + "/model.safetensors.index.json"
        if let data = try? readFile(index) {
            let json: JSON
            do { json = try JSON.parse(bytes: data) } catch { throw SafetensorsError(file: index, message: "\(error)") }
            guard let map = json["weight_map"]?.objectValue else { throw SafetensorsError(file: index, message: "no \"weight_map\" object") }
            var byFile: [String: SafetensorsFile] = [:]
            var owner: [String: SafetensorsFile] = [:]
            for (name, fileJSON) in map.pairs {
                guard let shard = fileJSON.stringValue else { throw SafetensorsError(file: index, message: "weight_map entry '\(name)' is not a file name") }
                let file = try byFile[shard] ?? SafetensorsFile(path: directory + "/" + shard)
                byFile[shard] = file
                guard file.tensors[name] != nil else { throw SafetensorsError(file: file.path, message: "has no tensor '\(name)' although \(index) says so") }
                owner[name] = file
            }
            files = byFile.keys.sorted().map { byFile[$0]! }
            self.owner = owner
        } else {
            let file = try SafetensorsFile(path: directory + "/model.safetensors")
            files = [file]
            var owner: [String: SafetensorsFile] = [:]
            for name in file.tensors.keys { owner[name] = file }
            self.owner = owner
        }
    }

    public var names: [String] { owner.keys.sorted() }
    public func info(_ name: String) -> SafetensorsTensor? { owner[name]?.tensors[name] }

    public func float32(_ name: String) throws -> [Float] {
        guard let f = owner[name] else { throw SafetensorsError(file: files.first?.path ?? "checkpoint", message: "no tensor named '\(name)'") }
        return try f.float32(name)
    }
}

/// The whole file, or nil when it cannot be read.
func readFile(_ path: String) throws -> [UInt8] {
    let file = try MappedFile(path: path)
    return Array(file.buffer)
}
