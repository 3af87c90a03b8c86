// Products straight from packed rows (ABI 1.4 matmul_rows), for the few-row inputs of decoding: each
// weight is read once, in its packed size, and never written out as fp32. Every in-tree codec has a
// direct kernel; a codec without one goes a few unpacked rows at a time through a SIMD dot product.
//
// The 4-bit kernels read the 16 code bytes of a block as four 32-bit lanes; nibble k of every lane
// is a vector of eight codes (two blocks side by side), turned into floats exactly by the 2^23
// trick (bits 0x4B000000 | q are the float 2^23 + q). The input is laid out once per call in that
// order, so each nibble vector meets its eight inputs with one FMA. int8 rows reuse the q8_0 byte
// trick; nf4/fp4 look their byte pairs up in a 256-entry table.
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
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        guard [.q4_1, .q4_0, .q8_0, .q5_0, .q5_1].contains(type) else {  // no direct kernel (such plugins declare no matmul_rows)
            return multiplyUnpacked(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
        }
        let blocks = cols / blockValues, pairs = (blocks + 1) / 2
        // Per input: the values in kernel order (64 per pair of blocks, a missing last block as zeros)
        // and the sum of each block (the offset terms: q4_1's minimum, q4_0's −8, q8_0's −128).
        let laidOut = pairs * 64, sums = pairs * 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * (laidOut + sums)) { buffer in
            let order = buffer.baseAddress!, blockSums = order + n * laidOut
            for i in 0..<n { layOut(x + i * cols, blocks: blocks, into: order + i * laidOut, sums: blockSums + i * sums) }
            let rowBytes = blocks * blockBytes
            // the format is chosen once per call, so each loop below holds one kernel, inlined with its constants
            @inline(__always) func each(_ dot: (UnsafeRawPointer, UnsafePointer<Float>, UnsafePointer<Float>) -> Float) {
                for r in 0..<rowCount {
                    let row = packed.baseAddress! + (firstRow + r) * rowBytes
                    for i in 0..<n { out[i * outStride + r] = dot(row, order + i * laidOut, blockSums + i * sums) }
                }
            }
            switch type {
            case .q4_1: each { nibbleDot($0, $1, $2, blocks: blocks, codesAt: 4, highBitsAt: nil, offsetAt: 2, zero: 0) }
            case .q4_0: each { nibbleDot($0, $1, $2, blocks: blocks, codesAt: 2, highBitsAt: nil, offsetAt: nil, zero: 8) }
            case .q5_0: each { nibbleDot($0, $1, $2, blocks: blocks, codesAt: 6, highBitsAt: 2, offsetAt: nil, zero: 16) }
            case .q5_1: each { nibbleDot($0, $1, $2, blocks: blocks, codesAt: 8, highBitsAt: 4, offsetAt: 2, zero: 0) }
            default: each { eightBitDot($0, $1, $2, blocks: blocks) }
            }
        }
    }

    /// One input row in kernel order. 4-bit: chunk k of a pair holds, for lane l, value
    /// 4(l mod 4) + k/2 + 16(k mod 2) of block 2p + l/4. 8-bit: chunk k of a block holds value 4l + k.
    func layOut(_ x: UnsafePointer<Float>, blocks: Int, into order: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        let pairs = (blocks + 1) / 2
        order.initialize(repeating: 0, count: pairs * 64)
        sums.initialize(repeating: 0, count: pairs * 2)
        for b in 0..<blocks {
            let block = x + b * 32
            var s: Float = 0
            for j in 0..<32 { s += block[j] }
            sums[b] = s
            switch type {
            case .q8_0:
                for k in 0..<4 { for l in 0..<8 { order[b * 32 + k * 8 + l] = block[4 * l + k] } }
            default:
                let (p, half) = (b / 2, b % 2)
                for k in 0..<8 { for l in 0..<4 { order[p * 64 + k * 8 + half * 4 + l] = block[4 * l + k / 2 + 16 * (k % 2)] } }
            }
        }
    }

    /// Codes k of eight lanes as floats: ((q >> 4k) & 15) exactly.
    @inline(__always)
    func nibbles(_ q: SIMD8<UInt32>, _ k: UInt32) -> SIMD8<Float> {
        unsafeBitCast(((q &>> (4 * k)) & 0xF) | 0x4B00_0000, to: SIMD8<Float>.self) - 8_388_608
    }

    /// Σ value·x over a row of q4_0 / q4_1 blocks (highBitsAt nil) or q5_0 / q5_1 blocks: d·Σ q·x +
    /// (minimum, or −zero·d)·Σ x per block. A 5-bit value's fifth bit comes from the block's 32-bit mask
    /// (bit j of value j): lane l of a block holds values 4l…4l+3 and their +16s, so the mask shifted by
    /// 4l lines its bits up with the lane's nibbles. Inlined per format, so the 4-bit loop has no mask work.
    @inline(__always)
    func nibbleDot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, blocks: Int,
                   codesAt: Int, highBitsAt: Int?, offsetAt: Int?, zero: Float) -> Float {
        var acc = SIMD8<Float>()
        var offsets: Float = 0
        let stride = blockBytes, laneShifts = SIMD8<UInt32>(0, 4, 8, 12, 0, 4, 8, 12)
        var b = 0
        while b < blocks {
            let b0 = row + b * stride, hasSecond = b + 1 < blocks
            let low = b0.loadUnaligned(fromByteOffset: codesAt, as: SIMD4<UInt32>.self)
            let high = hasSecond ? (b0 + stride).loadUnaligned(fromByteOffset: codesAt, as: SIMD4<UInt32>.self) : SIMD4<UInt32>()
            let q = SIMD8<UInt32>(lowHalf: low, highHalf: high)
            let xp = UnsafeRawPointer(x + b * 32)
            var s = SIMD8<Float>()
            if let at = highBitsAt {
                let h0 = b0.loadUnaligned(fromByteOffset: at, as: UInt32.self)
                let h1 = hasSecond ? (b0 + stride).loadUnaligned(fromByteOffset: at, as: UInt32.self) : 0
                let h = SIMD8<UInt32>(lowHalf: SIMD4(repeating: h0), highHalf: SIMD4(repeating: h1)) &>> laneShifts
                for k in 0..<8 {
                    let code = ((q &>> UInt32(4 * k)) & 0xF) | (((h &>> UInt32(k / 2 + 16 * (k % 2))) & 1) &<< 4)
                    s.addProduct(unsafeBitCast(code | 0x4B00_0000, to: SIMD8<Float>.self) - 8_388_608,
                                 xp.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self))
                }
            } else {
                for k in 0..<8 { s.addProduct(nibbles(q, UInt32(k)), xp.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self)) }
            }
            let d0 = Float(b0.loadUnaligned(as: Float16.self))
            let d1 = hasSecond ? Float((b0 + stride).loadUnaligned(as: Float16.self)) : 0
            acc.addProduct(SIMD8(lowHalf: SIMD4(repeating: d0), highHalf: SIMD4(repeating: d1)), s)
            if let o = offsetAt {
                offsets += Float(b0.loadUnaligned(fromByteOffset: o, as: Float16.self)) * sums[b]
                if hasSecond { offsets += Float((b0 + stride).loadUnaligned(fromByteOffset: o, as: Float16.self)) * sums[b + 1] }
            } else {
                offsets -= zero * (d0 * sums[b] + d1 * sums[b + 1])
            }
            b += 2
        }
        return acc.sum() + offsets
    }

    /// Σ value·x over a row of q8_0 blocks: each int8 v read as the byte v + 128 (the same 2^23 trick),
    /// so Σ v·x = Σ (v + 128)·x − 128·Σ x.
    @inline(__always)
    func eightBitDot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, blocks: Int) -> Float {
        var total: Float = 0
        for b in 0..<blocks {
            let block = row + b * 34
            let q = block.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self) ^ 0x8080_8080
            let xp = UnsafeRawPointer(x + b * 32)
            var s = SIMD8<Float>()
            for k in 0..<4 {
                let v = unsafeBitCast(((q &>> UInt32(8 * k)) & 0xFF) | 0x4B00_0000, to: SIMD8<Float>.self) - 8_388_608
                s.addProduct(v, xp.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self))
            }
            total += Float(block.loadUnaligned(as: Float16.self)) * (s.sum() - 128 * sums[b])
        }
        return total
    }
}

extension RowwiseInt8 {
    /// int8 rows with one scale each: the q8_0 kernel's byte trick over 32-value groups, one scale per row.
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        guard cols % 32 == 0 else {  // the layout needs whole groups of 32: unpack a few rows at a time instead
            return multiplyUnpacked(packed, rows: rows, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
        }
        let groups = cols / 32, format = GGMLBlockFormat.q8_0
        let laidOut = ((groups + 1) / 2) * 64, sums = ((groups + 1) / 2) * 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * (laidOut + sums + 1)) { buffer in
            let order = buffer.baseAddress!, groupSums = order + n * laidOut, totals = groupSums + n * sums
            for i in 0..<n {
                format.layOut(x + i * cols, blocks: groups, into: order + i * laidOut, sums: groupSums + i * sums)
                totals[i] = (0..<groups).reduce(0) { $0 + groupSums[i * sums + $1] }
            }
            let values = packed.baseAddress!, scales = packed.baseAddress! + rows * cols
            for r in 0..<rowCount {
                let row = values + (firstRow + r) * cols
                let scale = scales.loadUnaligned(fromByteOffset: (firstRow + r) * 4, as: Float.self) / 127
                for i in 0..<n {
                    let xo = UnsafeRawPointer(order + i * laidOut)
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
