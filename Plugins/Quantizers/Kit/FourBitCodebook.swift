// bitsandbytes' 4-bit formats (nf4, fp4): blocks of 64 values share their absmax (fp32); each value is
// the index of the nearest entry of a 16-value code table after scaling into [-1, 1]. Packed as all
// codes (two per byte, the first value in the high nibble, as bitsandbytes), then all absmax values.
// Rows are independent when cols is a multiple of 64, so any row range unpacks on its own.
import FactoryPluginKit

/// A 16-entry code table and the rule that quantizes into it.
public struct FourBitCodebook: Sendable {
    public static let blockSize = 64
    /// Value of each code.
    public let code: [Float]
    /// The table sorted (ties: lower index first), their codes, and the midpoints between neighbours.
    let sortedCodes: [UInt8]
    let midpoints: [Float]
    /// The code of every 1/2048-wide cell of [-1, 1] that holds no midpoint and has none next to it
    /// (then any value whose cell is computed one off still gets its exact code); −1 elsewhere,
    /// where the midpoints are compared.
    let cells: [Int8]
    static let cellsPerUnit: Float = 2048

    public init(code: [Float]) {
        self.code = code
        let order = code.indices.sorted { code[$0] < code[$1] || (code[$0] == code[$1] && $0 < $1) }
        let sortedCodes = order.map { UInt8($0) }
        let midpoints = (0..<15).map { (code[order[$0]] + code[order[$0 + 1]]) / 2 }
        (self.sortedCodes, self.midpoints) = (sortedCodes, midpoints)
        let count = Int(2 * Self.cellsPerUnit) + 1
        cells = (0..<count).map { k in
            let lo = Float(k - 1) / Self.cellsPerUnit - 1, hi = Float(k + 2) / Self.cellsPerUnit - 1  // the cell and its neighbours
            let first = midpoints.filter { $0 < lo }.count, last = midpoints.filter { $0 < hi }.count
            return first == last ? Int8(sortedCodes[first]) : -1
        }
    }

    /// NormalFloat4: quantiles of N(0, 1) scaled to [-1, 1] (QLoRA's table, as bitsandbytes publishes it).
    public static let nf4 = FourBitCodebook(code: [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
        -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ])

    /// bitsandbytes' FP4 (e2m1 with its own scaling): sign bit 3, the rest a small float.
    public static let fp4 = FourBitCodebook(code: [
        0.0, 0.0052083334885537624, 0.6666666865348816, 1.0, 0.3333333432674408, 0.5, 0.1666666716337204, 0.25,
        -0.0, -0.0052083334885537624, -0.6666666865348816, -1.0, -0.3333333432674408, -0.5, -0.1666666716337204, -0.25,
    ])

    /// The code of a value already scaled into [-1, 1]: the bucket between midpoints (a value exactly on a
    /// midpoint takes the lower code). Its cell's code when the cell is clear of midpoints, else the
    /// number of midpoints below it.
    @inline(__always)
    static func index(_ s: Float, _ cells: UnsafePointer<Int8>, _ mids: UnsafePointer<Float>, _ codes: UnsafePointer<UInt8>) -> UInt8 {
        let cell = cells[Int((s + 1) * cellsPerUnit)]
        if cell >= 0 { return UInt8(cell) }
        var below = 0
        while below < 15 && mids[below] < s { below += 1 }
        return codes[below]
    }

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        guard cols % Self.blockSize == 0, cols > 0 else {
            throw PluginError.shapeMismatch("4-bit blocks of \(Self.blockSize): \(cols) columns is not a positive multiple of \(Self.blockSize)")
        }
        return rows * cols / 2 + rows * cols / Self.blockSize * 4
    }

    public func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = rows * cols, blocks = n / Self.blockSize
        let codes = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let scales = (out.baseAddress! + n / 2)
        midpoints.withUnsafeBufferPointer { mids in
            sortedCodes.withUnsafeBufferPointer { sorted in
                cells.withUnsafeBufferPointer { cells in
                    let (m, c, t, x) = (mids.baseAddress!, sorted.baseAddress!, cells.baseAddress!, x.baseAddress!)
                    // blocks are independent: split them across the host's threads
                    Host.parallelFor(blocks, grain: 256) { range in
                        for b in range {
                            let block = x + b * Self.blockSize
                            var absmax: Float = 0
                            for i in 0..<Self.blockSize { absmax = max(absmax, abs(block[i])) }
                            let inverse = 1 / max(absmax, 1e-38)
                            scales.storeBytes(of: absmax, toByteOffset: b * 4, as: Float.self)
                            for i in stride(from: 0, to: Self.blockSize, by: 2) {
                                let hi = Self.index(min(1, max(-1, block[i] * inverse)), t, m, c)
                                let lo = Self.index(min(1, max(-1, block[i + 1] * inverse)), t, m, c)
                                codes[(b * Self.blockSize + i) / 2] = hi << 4 | lo
                            }
                        }
                    }
                }
            }
        }
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                               into out: UnsafeMutableBufferPointer<Float>) {
        let scales = packed.baseAddress! + rows * cols / 2
        unpackBlocks(packed.baseAddress!, firstBlock: firstRow * cols / Self.blockSize, blockCount: rowCount * cols / Self.blockSize,
                     into: out.baseAddress!) { scales.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }

    /// Unpacks whole blocks (cols is a multiple of 64: a row range is whole blocks), each with the
    /// scale `scale(block)`: 32 code bytes, two values each.
    @inline(__always)
    func unpackBlocks(_ codes: UnsafeRawPointer, firstBlock: Int, blockCount: Int, into out: UnsafeMutablePointer<Float>, scale: (Int) -> Float) {
        code.withUnsafeBufferPointer { table in
            var o = out
            for b in firstBlock..<(firstBlock + blockCount) {
                let s = scale(b)
                let bytes = codes.assumingMemoryBound(to: UInt8.self) + b * (Self.blockSize / 2)
                for j in 0..<(Self.blockSize / 2) {
                    let byte = Int(bytes[j])
                    o[2 * j] = table[byte >> 4] * s
                    o[2 * j + 1] = table[byte & 0xF] * s
                }
                o += Self.blockSize
            }
        }
    }
}
