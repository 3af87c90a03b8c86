// GGUF's block formats as ggml's reference quantizers define them (quantize_row_*_ref; gguf-py ports
// them to numpy): 32 values per block, scales stored as f16 but the fp32 scale used to quantize. A
// packed matrix is its rows of blocks, byte for byte what a GGUF file holds.
import FactoryPluginKit

/// One of q8_0, q4_0, q4_1.
public enum GGMLBlockFormat: Sendable {
    case q8_0, q4_0, q4_1

    public static let blockValues = 32
    /// The format's name, as GGUF's type names it in lower case ("q4_1").
    public var name: String {
        switch self {
        case .q8_0: return "q8_0"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        }
    }
    /// Storage cost including the f16 scale (and minimum): block bytes × 8 / 32.
    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(Self.blockValues) }
    /// Bytes per block of 32 values.
    public var blockBytes: Int {
        switch self {
        case .q8_0: return 34
        case .q4_0: return 18
        case .q4_1: return 20
        }
    }

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        guard cols % Self.blockValues == 0, cols > 0 else {
            throw PluginError.shapeMismatch("ggml blocks of 32: \(cols) columns is not a positive multiple of 32")
        }
        return rows * cols / Self.blockValues * blockBytes
    }

    public func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer) {
        for b in 0..<(rows * cols / Self.blockValues) {
            quantizeBlock(x.baseAddress! + b * Self.blockValues, out.baseAddress! + b * blockBytes)
        }
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                               into out: UnsafeMutableBufferPointer<Float>) {
        let perRow = cols / Self.blockValues
        for b in 0..<(rowCount * perRow) {
            dequantizeBlock(packed.baseAddress! + (firstRow * perRow + b) * blockBytes, out.baseAddress! + b * Self.blockValues)
        }
    }

    /// ggml's round(): half away from zero.
    @inline(__always)
    static func roundHalfAway(_ v: Float) -> Float {
        let a = abs(v), floored = a.rounded(.down)
        let r = floored + (2 * (a - floored)).rounded(.down)
        return v < 0 ? -r : r
    }

    func quantizeBlock(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let n = Self.blockValues
        switch self {
        case .q8_0:
            var amax: Float = 0
            for i in 0..<n { amax = max(amax, abs(x[i])) }
            let d = amax / 127, inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d), as: Float16.self)
            for i in 0..<n { out.storeBytes(of: Int8(Self.roundHalfAway(x[i] * inverse)), toByteOffset: 2 + i, as: Int8.self) }
        case .q4_0:
            var amax: Float = 0, signedMax: Float = 0
            for i in 0..<n where abs(x[i]) > amax { (amax, signedMax) = (abs(x[i]), x[i]) }
            let d = signedMax / -8, inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d), as: Float16.self)
            packNibbles(x, out + 2) { v in min(15, UInt8(truncatingIfNeeded: Int((v * inverse + 8.5).rounded(.towardZero)))) }
        case .q4_1:
            var lo = x[0], hi = x[0]
            for i in 1..<n { (lo, hi) = (min(lo, x[i]), max(hi, x[i])) }
            let d = (hi - lo) / 15, inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d), as: Float16.self)
            out.storeBytes(of: Float16(lo), toByteOffset: 2, as: Float16.self)
            packNibbles(x, out + 4) { v in min(15, UInt8(truncatingIfNeeded: Int(((v - lo) * inverse + 0.5).rounded(.towardZero)))) }
        }
    }

    /// Byte j holds value j in its low nibble and value j + 16 in its high nibble.
    @inline(__always)
    func packNibbles(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ q: (Float) -> UInt8) {
        for j in 0..<16 { out.storeBytes(of: q(x[j]) | q(x[j + 16]) << 4, toByteOffset: j, as: UInt8.self) }
    }

    func dequantizeBlock(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = Float(block.loadUnaligned(as: Float16.self))
        switch self {
        case .q8_0:
            for i in 0..<32 { out[i] = d * Float(block.loadUnaligned(fromByteOffset: 2 + i, as: Int8.self)) }
        case .q4_0:
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                out[j] = d * Float(Int(byte & 0xF) - 8)
                out[j + 16] = d * Float(Int(byte >> 4) - 8)
            }
        case .q4_1:
            let m = Float(block.loadUnaligned(fromByteOffset: 2, as: Float16.self))
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                out[j] = d * Float(byte & 0xF) + m
                out[j + 16] = d * Float(byte >> 4) + m
            }
        }
    }
}
