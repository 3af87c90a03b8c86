// bitsandbytes' double quantization (QLoRA's `bnb_4bit_use_double_quant`, LLaMA-Factory's
// `double_quantization`): the fp32 absmax of every 64-value block is quantized again. Its mean is
// taken off (the offset); what is left goes in blocks of 256 to 8-bit codes of bitsandbytes' signed
// dynamic map, with one fp32 absmax per 256. A block's scale is then
// map[code] · absmax2[block / 256] + offset, computed in fp32 as bitsandbytes does.
//
// Packed: the 4-bit codes (n/2 bytes, as FourBitCodebook), one code byte per 64-value block, one fp32
// per 256 blocks, the fp32 offset. 4 + 8/64 + 32/16384 bits per weight instead of 4.5.
import FactoryPluginKit

public struct DoubleQuantizedCodebook: QuantizationCodec {
    public let base: FourBitCodebook
    /// Absmax values sharing one second-level scale.
    public static let statisticsBlock = 256

    public init(_ base: FourBitCodebook) { self.base = base }

    /// Byte offsets of the parts of a packed [rows, cols] matrix.
    struct Layout {
        let codes = 0, blockCodes: Int, secondScales: Int, offset: Int, size: Int
        init(values n: Int) {
            let blocks = n / FourBitCodebook.blockSize
            blockCodes = n / 2
            secondScales = blockCodes + blocks
            offset = secondScales + 4 * ((blocks + DoubleQuantizedCodebook.statisticsBlock - 1) / DoubleQuantizedCodebook.statisticsBlock)
            size = offset + 4
        }
    }

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        _ = try base.packedSize(rows: rows, cols: cols)
        return Layout(values: rows * cols).size
    }

    public func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = rows * cols, blocks = n / FourBitCodebook.blockSize, layout = Layout(values: n)
        // 1. the 4-bit codes and fp32 absmax, as without double quantization
        let single = UnsafeMutableRawBufferPointer.allocate(byteCount: n / 2 + 4 * blocks, alignment: 16)
        defer { single.deallocate() }
        base.quantize(x, rows: rows, cols: cols, into: single)
        out.baseAddress!.copyMemory(from: single.baseAddress!, byteCount: n / 2)
        let absmax = (single.baseAddress! + n / 2).assumingMemoryBound(to: Float.self)
        // 2. the offset: their mean (fp32 sum, as torch's mean of a float32 tensor on this size)
        var sum: Float = 0
        for b in 0..<blocks { sum += absmax[b] }
        let offset = blocks > 0 ? sum / Float(blocks) : 0
        out.storeBytes(of: offset, toByteOffset: layout.offset, as: Float.self)
        // 3. blocks of 256 centred absmax values: their absmax, then the nearest code of each
        let map = Self.dynamicMap
        var start = 0
        while start < blocks {
            let end = min(blocks, start + Self.statisticsBlock)
            var scale: Float = 0
            for b in start..<end { scale = max(scale, abs(absmax[b] - offset)) }
            out.storeBytes(of: scale, toByteOffset: layout.secondScales + 4 * (start / Self.statisticsBlock), as: Float.self)
            for b in start..<end {
                let normed = scale > 0 ? (absmax[b] - offset) / scale : 0
                out.storeBytes(of: Self.nearest(normed, in: map), toByteOffset: layout.blockCodes + b, as: UInt8.self)
            }
            start = end
        }
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                               into out: UnsafeMutableBufferPointer<Float>) {
        let scales = Scales(packed.baseAddress!, Layout(values: rows * cols))
        base.unpackBlocks(packed.baseAddress!, firstBlock: firstRow * cols / FourBitCodebook.blockSize,
                          blockCount: rowCount * cols / FourBitCodebook.blockSize, into: out.baseAddress!) { scales[$0] }
    }

    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let scales = Scales(packed.baseAddress!, Layout(values: rows * cols))
        base.multiplyBlocks(packed.baseAddress!, cols: cols, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride) {
            scales[$0]
        }
    }

    /// A block's scale from its code, its group's second absmax and the offset.
    struct Scales {
        let packed: UnsafeRawPointer, layout: Layout, offset: Float
        init(_ packed: UnsafeRawPointer, _ layout: Layout) {
            (self.packed, self.layout) = (packed, layout)
            offset = packed.loadUnaligned(fromByteOffset: layout.offset, as: Float.self)
        }
        subscript(block: Int) -> Float {
            let code = Int(packed.load(fromByteOffset: layout.blockCodes + block, as: UInt8.self))
            let second = packed.loadUnaligned(fromByteOffset: layout.secondScales + 4 * (block / DoubleQuantizedCodebook.statisticsBlock), as: Float.self)
            return DoubleQuantizedCodebook.dynamicMap[code] * second + offset
        }
    }

    /// The index of the map entry nearest to `v` (ties: the lower index). The map is sorted.
    static func nearest(_ v: Float, in map: [Float]) -> UInt8 {
        var lo = 0, hi = map.count - 1  // first index whose entry is >= v
        while lo < hi {
            let mid = (lo + hi) / 2
            if map[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0 && abs(v - map[lo - 1]) <= abs(map[lo] - v) { lo -= 1 }
        return UInt8(lo)
    }

    /// bitsandbytes' signed dynamic map (create_dynamic_map(signed=True, max_exponent_bits=7,
    /// total_bits=8)): for each exponent e = 0...6, the midpoints of 2^e + 1 points spaced evenly over
    /// [0.1, 1] (float32, as torch.linspace), times ±10^(e − 6); then 0 and 1; sorted.
    public static let dynamicMap: [Float] = {
        var data: [Float] = []
        for e in 0..<7 {
            let count = (1 << e) + 1
            let points = linspace(0.1, 1, count)
            let scale = Float(pow10(e - 6))
            for i in 0..<(count - 1) {
                let mean = (points[i] + points[i + 1]) / 2
                data.append(scale * mean)
                data.append(-scale * mean)
            }
        }
        data += [0, 1]
        return data.sorted()
    }()

    /// torch.linspace in float32 (2.x on CPU): start + step·i for the first half and end − step·(n − 1 − i)
    /// for the rest, each one fused multiply-add (checked against the fixture's map: all 256 equal).
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return [start] }
        let step = (end - start) / Float(steps - 1), half = steps / 2
        return (0..<steps).map { i in i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - i - 1)) }
    }

    static func pow10(_ e: Int) -> Double {
        var v = 1.0
        for _ in 0..<abs(e) { v *= 10 }
        return e < 0 ? 1 / v : v
    }
}
