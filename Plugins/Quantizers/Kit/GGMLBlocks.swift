// GGUF's block formats as quantizer plugins see them: a packed matrix is its rows of blocks, byte for
// byte what a GGUF file holds. Packing and unpacking are the SDK's GGMLBlocks (ggml's reference code, bit
// for bit), shared with the host's GGUF reader.
import FactoryPluginKit
import GGMLBlocks

/// One of GGUF's block formats a quantizer plugin packs (q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k).
public struct GGMLBlockFormat: Sendable {
    public let type: GGMLType

    public static let q8_0 = GGMLBlockFormat(type: .q8_0), q4_0 = GGMLBlockFormat(type: .q4_0), q4_1 = GGMLBlockFormat(type: .q4_1)
    public static let q5_0 = GGMLBlockFormat(type: .q5_0), q5_1 = GGMLBlockFormat(type: .q5_1)
    public static let q2_K = GGMLBlockFormat(type: .q2_K), q3_K = GGMLBlockFormat(type: .q3_K), q4_K = GGMLBlockFormat(type: .q4_K)
    public static let q5_K = GGMLBlockFormat(type: .q5_K), q6_K = GGMLBlockFormat(type: .q6_K)

    /// Values per block (32; 256 for the K-quants).
    public var blockValues: Int { type.blockSize }
    /// The format's name, as GGUF's type names it in lower case ("q4_1", "q4_k").
    public var name: String { type.description.lowercased() }
    /// Storage cost including the scales: block bytes × 8 / values per block.
    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(blockValues) }
    public var blockBytes: Int { type.blockBytes }

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        guard cols % blockValues == 0, cols > 0 else {
            throw PluginError.shapeMismatch("\(name) blocks of \(blockValues): \(cols) columns is not a positive multiple of \(blockValues)")
        }
        return rows * cols / blockValues * blockBytes
    }

    public func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer) {
        GGMLBlockPacker.quantize(type, x.baseAddress!, count: rows * cols, into: out.baseAddress!)
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                               into out: UnsafeMutableBufferPointer<Float>) {
        let rowBytes = cols / blockValues * blockBytes
        GGMLDequantizer.dequantize(type, packed.baseAddress! + firstRow * rowBytes, count: rowCount * cols, into: out.baseAddress!)
    }
}
