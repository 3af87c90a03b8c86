/// One tensor of a GGUF file: its name, type, dims (fastest-varying first, as
/// ggml stores them) and where its bytes are.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml's `ne`: ne[0] values per row, rows = product of the rest.
    public let dims: [Int]
    /// Offset within the data section.
    public let offset: Int
    public let byteCount: Int

    public var count: Int { dims.reduce(1, *) }
    /// The shape in row-major (Hugging Face) order: dims reversed.
    public var shape: [Int] { dims.reversed() }
}

/// A GGUF file: metadata, tensor table and tensor data by mmap. Every
/// inconsistency (truncation, an offset outside the file, an unknown type, a
/// size that is not a whole number of blocks) is an error naming the file,
/// the tensor and the offset or sizes.
public final class GGUFFile {
    public let path: String
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    /// Absolute offset of the data section.
    public let dataOffset: Int
    private let file: MappedFile
    private let index: [String: Int]

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        metadata = try GGUFMetadata.parse(file.buffer, file: path)
        var r = ByteReader(bytes: file.buffer, file: path)
        r.offset = metadata.endOffset
        var infos: [GGUFTensorInfo] = []
        guard metadata.tensorCount < 1_000_000 else { throw GGUFError(file: path, message: "tensor count \(metadata.tensorCount) is implausible") }
        for i in 0..<Int(metadata.tensorCount) {
            let name = try r.string("name of tensor \(i)")
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims >= 1 && nDims <= 4 else { throw GGUFError(file: path, message: "tensor '\(name)' has \(nDims) dimensions (1 to 4)") }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64("dimensions of '\(name)'")
                guard d <= UInt64(Int32.max) else { throw GGUFError(file: path, message: "tensor '\(name)' has a dimension of \(d)") }
                dims.append(Int(d))
            }
            let typeID = try r.u32("type of '\(name)'")
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError(file: path, message: "tensor '\(name)' has ggml type \(typeID), which Factory cannot read (F32, F16, BF16, Q8_0, Q4_0, Q4_1)")
            }
            let offset = try r.u64("offset of '\(name)'")
            let count = dims.reduce(1, *)
            guard let bytes = type.byteCount(values: count), dims[0] % type.blockSize == 0 else {
                throw GGUFError(file: path, message: "tensor '\(name)' of \(type) has rows of \(dims[0]) values, not a multiple of its block size \(type.blockSize)")
            }
            infos.append(GGUFTensorInfo(name: name, type: type, dims: dims, offset: Int(clamping: offset), byteCount: bytes))
        }
        let alignment: Int
        switch metadata.values["general.alignment"] {
        case .uint(let a)?: alignment = Int(a)
        case nil: alignment = 32
        default: throw GGUFError(file: path, message: "general.alignment is not an unsigned integer")
        }
        guard alignment > 0 && alignment & (alignment - 1) == 0 else { throw GGUFError(file: path, message: "general.alignment \(alignment) is not a power of two") }
        dataOffset = (r.offset + alignment - 1) / alignment * alignment
        for t in infos {
            guard t.offset % alignment == 0 else {
                throw GGUFError(file: path, message: "tensor '\(t.name)' starts at data offset \(t.offset), not a multiple of the alignment \(alignment)")
            }
            let end = dataOffset + t.offset + t.byteCount
            guard end <= file.buffer.count else {
                throw GGUFError(file: path, message: "tensor '\(t.name)' (\(t.type), \(t.shape)) needs bytes \(dataOffset + t.offset)..<\(end) but the file has \(file.buffer.count) bytes: truncated?")
            }
        }
        tensors = infos
        var idx: [String: Int] = [:]
        for (i, t) in infos.enumerated() {
            guard idx[t.name] == nil else { throw GGUFError(file: path, message: "tensor '\(t.name)' appears twice") }
            idx[t.name] = i
        }
        index = idx
    }

    /// The tensor named `name`, or nil.
    public func info(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The raw bytes of a tensor (valid while this file is alive).
    public func bytes(_ t: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.buffer[(dataOffset + t.offset)..<(dataOffset + t.offset + t.byteCount)])
    }

    /// The whole tensor as fp32, in storage (row-major, ggml) order.
    public func dequantize(_ t: GGUFTensorInfo) -> [Float] {
        [Float](unsafeUninitializedCapacity: t.count) { buffer, n in
            GGMLDequantizer.dequantize(t.type, bytes(t).baseAddress!, count: t.count, into: buffer.baseAddress!)
            n = t.count
        }
    }

    /// Rows [first, first + count) of a tensor (rows of dims[0] values) as fp32.
    public func dequantizeRows(_ t: GGUFTensorInfo, first: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let rowBytes = t.dims[0] / t.type.blockSize * t.type.blockBytes
        GGMLDequantizer.dequantize(t.type, bytes(t).baseAddress! + first * rowBytes, count: count * t.dims[0], into: destination)
    }
}
