// What every in-tree quantizer plugin is: a codec (the packed format) behind the QuantizerPlugin
// calls, with finite weights checked first. A plugin subclasses CodecQuantizer and adds only its
// descriptor and declaration.
import FactoryPluginKit

/// A packed format: size, packing, and unpacking of any row range.
public protocol QuantizationCodec: Sendable {
    func packedSize(rows: Int, cols: Int) throws -> Int
    func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer)
    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into out: UnsafeMutableBufferPointer<Float>)
    /// out[i·outStride + r − firstRow] = x[i] · W[r] straight from packed rows (see PackedProducts.swift;
    /// a default unpacks a few rows at a time).
    func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                      rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int)
}

extension FourBitCodebook: QuantizationCodec {}
extension GGMLBlockFormat: QuantizationCodec {}

/// The QuantizerPlugin calls over a codec. A plugin whose codec has a direct product kernel also declares
/// PackedRowMultiplying (the host then calls matmul_rows for few-row inputs); one without (the K-quants and
/// Q5 for now) does not, and the host unpacks tiles instead of being offered a slow "direct" product.
open class CodecQuantizer {
    public let codec: QuantizationCodec

    public init(codec: QuantizationCodec) { self.codec = codec }

    public func packedSize(rows: Int, cols: Int) throws -> Int { try codec.packedSize(rows: rows, cols: cols) }

    public func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        try requireFinite(source, cols: cols)
        codec.quantize(source, rows: rows, cols: cols, into: destination)
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                               into destination: UnsafeMutableBufferPointer<Float>) throws {
        codec.dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: destination)
    }

    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) throws {
        codec.multiplyRows(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
    }
}

/// Refuses NaN and infinity before quantizing (they have no code; converting them would trap).
public func requireFinite(_ x: UnsafeBufferPointer<Float>, cols: Int) throws {
    for (i, v) in x.enumerated() where !v.isFinite {
        throw PluginError.invalidArgument("value at row \(i / max(cols, 1)), column \(i % max(cols, 1)) is \(v); only finite weights can be quantized")
    }
}

/// The bitsandbytes 4-bit quantizers (nf4, fp4): a codebook, blocks of 64 with an fp32 absmax, and
/// optional double quantization of the absmax values (config `double_quantization`, default false
/// here; the host passes LLaMA-Factory's key, whose default is true, to plugins whose descriptor lists
/// the feature `config:double_quantization`).
open class FourBitQuantizer: CodecQuantizer {
    public let format: String
    public let doubleQuantization: Bool

    public init(_ codebook: FourBitCodebook, format: String, config: ConfigReader) throws {
        self.format = format
        doubleQuantization = try config.bool("double_quantization", default: false)
        super.init(codec: doubleQuantization ? DoubleQuantizedCodebook(codebook) : codebook)
    }

    /// 4.5 bits per weight; double-quantized 4 + 8/64 + 32/16384 (a code byte per block, an fp32 per 256 blocks).
    public var info: QuantizerInfo {
        QuantizerInfo(format: format, blockSize: FourBitCodebook.blockSize, bitsPerWeight: doubleQuantization ? 4 + 8.0 / 64 + 32.0 / 16384 : 4.5,
                      trainableBase: false, mergeable: true)
    }
}

/// GGUF's block quantizers (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k): the declaration follows from the block format.
open class GGMLQuantizer: CodecQuantizer {
    public let format: GGMLBlockFormat

    public init(_ format: GGMLBlockFormat) {
        self.format = format
        super.init(codec: format)
    }

    public var info: QuantizerInfo {
        QuantizerInfo(format: format.name, blockSize: format.blockValues, bitsPerWeight: format.bitsPerWeight, trainableBase: false, mergeable: true)
    }

    /// The 8-bit-input layout (Int8RowMultiplying, declared by the plugins whose format has a kernel: q4_0, q4_1, q8_0).
    public func prepareRowsInt8(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int) throws -> PreparedRowsInt8? {
        BlockRowsInt8(format, packed: packed, rows: rows, cols: cols)
    }
}
