// Packing fp32 values into GGUF blocks as ggml's reference quantizers do (quantize_row_*_ref in
// ggml-quants.c, which llama.cpp's llama-quantize runs when no importance matrix is given): Q8_0, Q4_0,
// Q4_1, Q5_0, Q5_1, and the K-quants Q2_K, Q3_K, Q4_K, Q5_K and Q6_K with their searches for the best
// sub-block scales.
// Bit for bit: every float operation in ggml's order, no fused multiply-add, fp16 rounded to nearest even.

/// Packs ggml blocks (the SDK's; QuantizerKit's GGMLQuantizer is the plugin around it).
public enum GGMLBlockPacker {
    /// The types `quantize` packs.
    public static let packable: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Packs `count` values (a whole number of blocks of `type`) from `x` into `out`; false when `type`
    /// is not packable.
    @discardableResult
    public static func quantize(_ type: GGMLType, _ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) -> Bool {
        guard packable.contains(type) else { return false }
        for b in 0..<(count / type.blockSize) {
            let source = x + b * type.blockSize, block = out + b * type.blockBytes
            switch type {
            case .q8_0, .q4_0, .q4_1: smallBlock(type, source, block)
            case .q5_0, .q5_1: fiveBit(type, source, block)
            case .q2_K: GGMLKQuantizer.q2K(source, block)
            case .q3_K: GGMLKQuantizer.q3K(source, block)
            case .q4_K: GGMLKQuantizer.q4K(source, block)
            case .q5_K: GGMLKQuantizer.q5K(source, block)
            case .q6_K: GGMLKQuantizer.q6K(source, block)
            default: return false
            }
        }
        return true
    }

    /// ggml's round(): half away from zero.
    @inline(__always)
    static func roundHalfAway(_ v: Float) -> Float {
        let a = abs(v), floored = a.rounded(.down)
        let r = floored + (2 * (a - floored)).rounded(.down)
        return v < 0 ? -r : r
    }

    static func smallBlock(_ type: GGMLType, _ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let n = 32
        switch type {
        case .q8_0:
            var amax: Float = 0
            for i in 0..<n { amax = max(amax, abs(x[i])) }
            let d = amax / 127, inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d), as: Float16.self)
            for i in 0..<n { out.storeBytes(of: Int8(roundHalfAway(x[i] * inverse)), toByteOffset: 2 + i, as: Int8.self) }
        case .q4_0:
            var amax: Float = 0, signedMax: Float = 0
            for i in 0..<n where abs(x[i]) > amax { (amax, signedMax) = (abs(x[i]), x[i]) }
            let d = signedMax / -8, inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d), as: Float16.self)
            packNibbles(x, out + 2) { v in min(15, UInt8(truncatingIfNeeded: Int((v * inverse + 8.5).rounded(.towardZero)))) }
        default:  // q4_1
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
    static func packNibbles(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ q: (Float) -> UInt8) {
        for j in 0..<16 { out.storeBytes(of: q(x[j]) | q(x[j + 16]) << 4, toByteOffset: j, as: UInt8.self) }
    }

    /// Q5_0 (d = signed max / −16, q = min(31, trunc(x/d + 16.5))) and Q5_1 (d = (max − min)/31, m = min,
    /// q = trunc((x − min)/d + 0.5)): four low bits in nibbles, the fifth in a 32-bit mask.
    static func fiveBit(_ type: GGMLType, _ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let codes: (Float) -> UInt8, qs: Int
        if type == .q5_0 {
            var amax: Float = 0, signedMax: Float = 0
            for j in 0..<32 where amax < abs(x[j]) { (amax, signedMax) = (abs(x[j]), x[j]) }
            let d = signedMax / -16, inverse: Float = d != 0 ? 1 / d : 0
            out.storeBytes(of: Float16(d), as: Float16.self)
            // (int8_t)(v + 16.5) truncates toward zero; MIN(31, …) as uint8
            codes = { v in UInt8(truncatingIfNeeded: min(31, Int(Int8(truncatingIfNeeded: Int((v * inverse + 16.5).rounded(.towardZero)))))) }
            qs = 6
        } else {
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<32 { (lo, hi) = (min(lo, x[j]), max(hi, x[j])) }
            let d = (hi - lo) / 31, inverse: Float = d != 0 ? 1 / d : 0
            out.storeBytes(of: Float16(d), as: Float16.self)
            out.storeBytes(of: Float16(lo), toByteOffset: 2, as: Float16.self)
            codes = { v in UInt8(truncatingIfNeeded: Int(((v - lo) * inverse + 0.5).rounded(.towardZero))) }
            qs = 8
        }
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = codes(x[j]), b = codes(x[j + 16])
            out.storeBytes(of: (a & 0x0F) | ((b & 0x0F) << 4), toByteOffset: qs + j, as: UInt8.self)
            qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
            qh |= UInt32((b & 0x10) >> 4) << UInt32(j + 16)
        }
        out.storeBytes(of: qh, toByteOffset: qs - 4, as: UInt32.self)
    }
}
