// Products straight from packed rows (ABI 1.4 matmul_rows), for the few-row inputs of decoding: each
// weight is read once, in its packed size, and never written out as fp32. Every in-tree codec has a
// direct kernel; a codec without one goes a few unpacked rows at a time through a SIMD dot product.
//
// GGUF's block formats go through BlockProducts (C, AVX2 chosen at run time): the input's 32-value
// blocks are split into two int16 parts each, the codes meet them in exact integer sums. int8 rows turn
// their bytes into floats by the 2^23 trick; nf4/fp4 look their byte pairs up in a 256-entry table.
import BlockProducts
import CFactoryABI
import FactoryPluginKit
import GGMLBlocks

extension QuantizationCodec {
    /// The generic product (what a codec without its own kernel gets).
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        multiplyUnpacked(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
    }

    /// Unpacks a few rows into a small buffer and dots each with every input.
    func multiplyUnpacked(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let step = max(1, min(rowCount, 4096 / max(cols, 1)))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: step * cols) { buffer in
            var r = 0
            while r < rowCount {
                let k = min(step, rowCount - r)
                dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow + r, rowCount: k,
                               into: UnsafeMutableBufferPointer(rebasing: buffer[0..<(k * cols)]))
                for j in 0..<k {
                    for i in 0..<n { out[i * outStride + r + j] = dot(buffer.baseAddress! + j * cols, x + i * cols, cols) }
                }
                r += k
            }
        }
    }
}

/// Σ a[i]·b[i], eight lanes at a time.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    let (ra, rb) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
    var i = 0
    while i + 16 <= count {
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < count {
        s += a[i] * b[i]
        i += 1
    }
    return s
}

extension GGMLBlockFormat {
    /// Whether BlockProducts has an integer kernel for this format (all the in-tree GGUF formats do).
    public var hasDirectProduct: Bool { fbp_supports(Int32(type.rawValue)) != 0 }

    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        guard hasDirectProduct, cols % 32 == 0 else {  // no direct kernel (such plugins declare no matmul_rows)
            return multiplyUnpacked(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
        }
        multiplyBlocks(packed, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
    }

    /// The integer product (BlockProducts.h), with the best kernel the CPU runs.
    func multiplyBlocks(_ packed: UnsafeRawBufferPointer, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                        rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let status = fbp_multiply(Int32(type.rawValue), packed.baseAddress!, cols / blockValues * blockBytes, Int32(firstRow), Int32(rowCount),
                                  Int32(cols / 32), x, Int32(n), out, outStride, Int32(FBP_BEST))
        if status != 0 {  // no scratch memory: the unpacking product needs none beyond the stack
            multiplyUnpacked(packed, rows: firstRow + rowCount, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
        }
    }
}

/// A GGUF block matrix repacked for 8-bit-input products (Int8Products.h): groups of 8 rows whose block
/// scales sit side by side, the inputs rounded to int8 per 32-value block and met in integer dot products.
public final class BlockRowsInt8: PreparedRowsInt8, @unchecked Sendable {
    private let matrix: OpaquePointer
    public let rows: Int
    public var bytes: Int { fbp_int8_bytes(matrix) }

    /// nil when the format has no 8-bit kernel, memory runs out or a scale does not fit the layout.
    init?(_ format: GGMLBlockFormat, packed: UnsafeRawBufferPointer, rows: Int, cols: Int) {
        guard cols % 32 == 0, cols > 0, rows > 0, rows <= Int(Int32.max), cols / 32 <= Int(Int32.max),
              let m = fbp_int8_repack(Int32(format.type.rawValue), packed.baseAddress!, cols / format.blockValues * format.blockBytes,
                                      Int32(rows), Int32(cols / 32)) else { return nil }
        (matrix, self.rows) = (m, rows)
    }
    deinit { fbp_int8_free(matrix) }

    public func multiply(x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) throws {
        guard n <= Int(Int32.max) else { throw PluginError.invalidArgument("n \(n) is too large") }
        switch fbp_int8_multiply(matrix, Int32(firstRow), Int32(rowCount), x, Int32(n), out, outStride, Int32(FBP_BEST)) {
        case 0: return
        case -1: throw PluginError.invalidArgument("rows [\(firstRow), \(firstRow + rowCount)) are outside a matrix of \(rows) rows")
        default: throw PluginError(FACTORY_ERR_OUT_OF_MEMORY, "no memory for the rounded inputs of \(n) rows")
        }
    }
}

extension RowwiseInt8 {
    /// int8 rows with one scale each, over 32-value groups: each int8 v is read as the byte v + 128 and
    /// turned into a float exactly by the 2^23 trick (bits 0x4B000000 | b are the float 2^23 + b), so
    /// Σ v·x = Σ (v + 128)·x − 128·Σ x. The input is laid out once per call so that byte k of every
    /// 32-bit lane meets its eight inputs with one FMA: chunk k of a group holds value 4l + k in lane l.
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        guard cols % 32 == 0 else {  // the layout needs whole groups of 32: unpack a few rows at a time instead
            return multiplyUnpacked(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
        }
        let groups = cols / 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * (cols + 1)) { buffer in
            let order = buffer.baseAddress!, totals = order + n * cols
            for i in 0..<n {
                let (xi, oi) = (x + i * cols, order + i * cols)
                for g in 0..<groups { for k in 0..<4 { for l in 0..<8 { oi[g * 32 + k * 8 + l] = xi[g * 32 + 4 * l + k] } } }
                totals[i] = (0..<cols).reduce(0) { $0 + xi[$1] }
            }
            let values = packed.baseAddress!, scales = packed.baseAddress! + rows * cols
            for r in 0..<rowCount {
                let row = values + (firstRow + r) * cols
                let scale = scales.loadUnaligned(fromByteOffset: (firstRow + r) * 4, as: Float.self) / 127
                for i in 0..<n {
                    let xo = UnsafeRawPointer(order + i * cols)
                    var s = SIMD8<Float>()
                    for g in 0..<groups {
                        let q = (row + g * 32).loadUnaligned(as: SIMD8<UInt32>.self) ^ 0x8080_8080
                        for k in 0..<4 {
                            let v = unsafeBitCast(((q &>> UInt32(8 * k)) & 0xFF) | 0x4B00_0000, to: SIMD8<Float>.self) - 8_388_608
                            s.addProduct(v, xo.loadUnaligned(fromByteOffset: g * 128 + 32 * k, as: SIMD8<Float>.self))
                        }
                    }
                    out[i * outStride + r] = scale * (s.sum() - 128 * totals[i])
                }
            }
        }
    }
}

extension FourBitCodebook {
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let scales = packed.baseAddress! + rows * cols / 2
        multiplyBlocks(packed.baseAddress!, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride) {
            scales.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)
        }
    }

    /// Codes two per byte (first value high): a 256-entry table of each byte's two values turns four
    /// bytes into eight values with four 8-byte loads, then one FMA per eight inputs; `scale(block)`
    /// per 64 values.
    @inline(__always)
    func multiplyBlocks(_ codes: UnsafeRawPointer, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int,
                        out: UnsafeMutablePointer<Float>, outStride: Int, scale: (Int) -> Float) {
        let blocksPerRow = cols / Self.blockSize
        withUnsafeTemporaryAllocation(of: SIMD2<Float>.self, capacity: 256) { pairs in
            for b in 0..<256 { pairs[b] = SIMD2(code[b >> 4], code[b & 0xF]) }
            let table = UnsafeRawPointer(pairs.baseAddress!)
            @inline(__always) func pair(_ bytes: UnsafeRawPointer, _ j: Int) -> SIMD2<Float> {
                table.loadUnaligned(fromByteOffset: Int(bytes.load(fromByteOffset: j, as: UInt8.self)) * 8, as: SIMD2<Float>.self)
            }
            for r in 0..<rowCount {
                let row = firstRow + r
                for i in 0..<n {
                    let xi = UnsafeRawPointer(x + i * cols)
                    var total: Float = 0
                    for blk in 0..<blocksPerRow {
                        let block = row * blocksPerRow + blk
                        let bytes = codes + block * (Self.blockSize / 2)
                        var s = SIMD8<Float>()
                        for j in stride(from: 0, to: Self.blockSize / 2, by: 4) {
                            let v = SIMD8(lowHalf: SIMD4(lowHalf: pair(bytes, j), highHalf: pair(bytes, j + 1)),
                                          highHalf: SIMD4(lowHalf: pair(bytes, j + 2), highHalf: pair(bytes, j + 3)))
                            s.addProduct(v, xi.loadUnaligned(fromByteOffset: (blk * Self.blockSize + 2 * j) * 4, as: SIMD8<Float>.self))
                        }
                        total += scale(block) * s.sum()
                    }
                    out[i * outStride + r] = total
                }
            }
        }
    }
}
