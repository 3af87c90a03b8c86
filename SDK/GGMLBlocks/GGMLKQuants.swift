// ggml's K-quants: super-blocks of 256 values in sub-blocks of 16 or 32, each with its own 4-, 6- or
// 8-bit scale (and min) under fp16 super-block scales. Dequantized as ggml's reference
// (dequantize_row_q*_K in ggml-quants.c) and gguf-py compute them, product by product in fp32: a
// product is rounded before a min is subtracted (noFMA), so values are bit-exact against both.

/// Unpacks one K-quant super-block (256 values).
enum GGMLKQuants {
    static func dequantize(_ type: GGMLType, _ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        switch type {
        case .q2_K: q2K(block, y)
        case .q3_K: q3K(block, y)
        case .q4_K: q45K(block, y, highBits: false)
        case .q5_K: q45K(block, y, highBits: true)
        case .q6_K: q6K(block, y)
        case .q8_K:
            let d = block.loadUnaligned(as: Float.self)
            for j in 0..<256 { y[j] = d * Float(block.load(fromByteOffset: 4 + j, as: Int8.self)) }
        default: break
        }
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float { GGMLDequantizer.half(p, offset) }
    @inline(__always) static func noFMA(_ x: Float) -> Float { GGMLDequantizer.noFMA(x) }

    /// Q2_K: 16 sub-blocks of 16, 2-bit quants, 4-bit scale and min each: x = d·sc·q − dmin·m.
    static func q2K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 80), dmin = half(x, 82)
        var out = 0, scale = 0
        for n in stride(from: 0, to: 256, by: 128) {
            let q = 16 + n / 4
            for shift in stride(from: 0, to: 8, by: 2) {
                for half16 in 0..<2 {
                    let sc = byte(x, scale)
                    scale += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 { y[out + l] = noFMA(dl * Float((byte(x, q + half16 * 16 + l) >> UInt8(shift)) & 3)) - ml }
                    out += 16
                }
            }
        }
    }

    /// Q3_K: 16 sub-blocks of 16, 2 low bits plus a high bit (set: no −4), 6-bit signed scales: x = d·(sc − 32)·q.
    static func q3K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 108)
        var raw = [UInt8](repeating: 0, count: 12)
        for i in 0..<12 { raw[i] = byte(x, 96 + i) }
        // 16 scales of 6 bits: the low 4 bits in raw[0..<8] (two per byte), the high 2 in raw[8..<12] (four per byte)
        let scales = (0..<16).map { i -> Int in
            let low = (raw[i % 8] >> (i < 8 ? 0 : 4)) & 0xF, high = (raw[8 + i % 4] >> (2 * (i / 4))) & 3
            return Int(low | high << 4) - 32
        }
        var out = 0, s = 0, mask: UInt8 = 1
        for n in stride(from: 0, to: 256, by: 128) {
            let q = 32 + n / 4
            for shift in stride(from: 0, to: 8, by: 2) {
                for half16 in 0..<2 {
                    let dl = d * Float(scales[s])
                    s += 1
                    for l in 0..<16 {
                        let i = half16 * 16 + l
                        let low = Int((byte(x, q + i) >> UInt8(shift)) & 3), high = byte(x, i) & mask != 0 ? 0 : 4
                        y[out + l] = dl * Float(low - high)
                    }
                    out += 16
                }
                mask <<= 1
            }
        }
    }

    /// The 6-bit scale and min of sub-block `j` of Q4_K/Q5_K (get_scale_min_k4).
    @inline(__always) static func scaleMin(_ j: Int, _ s: UnsafeRawPointer) -> (UInt8, UInt8) {
        if j < 4 { return (byte(s, j) & 63, byte(s, j + 4) & 63) }
        return ((byte(s, j + 4) & 0xF) | ((byte(s, j - 4) >> 6) << 4), (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4))
    }

    /// Q4_K and Q5_K: 8 sub-blocks of 32, 4-bit quants (+ a fifth bit from qh for Q5_K): x = d·sc·q − dmin·m.
    static func q45K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, highBits: Bool) {
        let d = half(x, 0), dmin = half(x, 2), scales = x + 4
        let qh = 16, qs = highBits ? 48 : 16
        var u1: UInt8 = 1, u2: UInt8 = 2
        for (step, j) in stride(from: 0, to: 256, by: 64).enumerated() {
            let (sc1, m1) = scaleMin(2 * step, scales), (sc2, m2) = scaleMin(2 * step + 1, scales)
            let d1 = d * Float(sc1), dm1 = dmin * Float(m1), d2 = d * Float(sc2), dm2 = dmin * Float(m2)
            for l in 0..<32 {
                let q = byte(x, qs + 32 * step + l), h = highBits ? byte(x, qh + l) : 0
                y[j + l] = noFMA(d1 * Float(Int(q & 0xF) + (h & u1 != 0 ? 16 : 0))) - dm1
                y[j + 32 + l] = noFMA(d2 * Float(Int(q >> 4) + (h & u2 != 0 ? 16 : 0))) - dm2
            }
            u1 <<= 2
            u2 <<= 2
        }
    }

    /// Q6_K: 16 sub-blocks of 16, 4 low bits plus 2 high bits, 8-bit signed scales: x = d·sc·(q − 32).
    static func q6K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 208)
        for (step, n) in stride(from: 0, to: 256, by: 128).enumerated() {
            let ql = 64 * step, qh = 128 + 32 * step, sc = 192 + 8 * step
            for l in 0..<32 {
                let s = l / 16, h = byte(x, qh + l)
                let q1 = Int((byte(x, ql + l) & 0xF) | ((h & 3) << 4)) - 32
                let q2 = Int((byte(x, ql + l + 32) & 0xF) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((byte(x, ql + l) >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((byte(x, ql + l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
                func scale(_ i: Int) -> Float { d * Float(x.load(fromByteOffset: sc + i, as: Int8.self)) }
                y[n + l] = scale(s) * Float(q1)
                y[n + l + 32] = scale(s + 2) * Float(q2)
                y[n + l + 64] = scale(s + 4) * Float(q3)
                y[n + l + 96] = scale(s + 6) * Float(q4)
            }
        }
    }
}
