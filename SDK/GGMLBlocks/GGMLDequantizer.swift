/// Unpacks ggml blocks to fp32. Q4_1 is computed as (d·q) + m with two
/// roundings, exactly as ggml's reference dequantizer (no fused multiply-add).
public enum GGMLDequantizer {
    /// Converts `count` values starting at `source` (a whole number of blocks of `type`) into `destination`.
    public static func dequantize(_ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { destination[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let block = source + b * 34
                let d = half(block, 0)
                let out = destination + b * 32
                for j in 0..<32 { out[j] = d * Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) }
            }
        case .q4_0:
            for b in 0..<(count / 32) {
                let block = source + b * 18
                let d = half(block, 0)
                let out = destination + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int(q & 0xF) - 8)
                    out[j + 16] = d * Float(Int(q >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let block = source + b * 20
                let d = half(block, 0), m = half(block, 2)
                let out = destination + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = noFMA(d * Float(q & 0xF)) + m
                    out[j + 16] = noFMA(d * Float(q >> 4)) + m
                }
            }
        case .q5_0, .q5_1:
            let offset = type == .q5_0 ? 0 : 2
            for b in 0..<(count / 32) {
                let block = source + b * type.blockBytes
                let d = half(block, 0), m = type == .q5_0 ? 0 : half(block, 2)
                let qh = block.loadUnaligned(fromByteOffset: 2 + offset, as: UInt32.self)
                let out = destination + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 6 + offset + j, as: UInt8.self)
                    let low = Int(q & 0xF) | Int((qh >> UInt32(j)) << 4 & 0x10), high = Int(q >> 4) | Int((qh >> UInt32(j + 12)) & 0x10)
                    if type == .q5_0 {
                        (out[j], out[j + 16]) = (Float(low - 16) * d, Float(high - 16) * d)
                    } else {
                        (out[j], out[j + 16]) = (noFMA(Float(low) * d) + m, noFMA(Float(high) * d) + m)
                    }
                }
            }
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K:
            for b in 0..<(count / 256) {
                GGMLKQuants.dequantize(type, source + b * type.blockBytes, into: destination + b * 256)
            }
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Keeps a product rounded on its own (the compiler never fuses across this call).
    @inline(never) static func noFMA(_ x: Float) -> Float { x }
}
