/// ggml tensor types that Factory reads, with their block layout.
/// Spec: ggml's docs/gguf.md and ggml-common.h (block_q4_0, block_q4_1, block_q8_0).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, bf16 = 30

    /// Values per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        }
    }

    /// Bytes for `count` values, or nil when `count` is not a whole number of blocks.
    public func byteCount(values count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        return count / blockSize * blockBytes
    }
}

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
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Keeps a product rounded on its own (the compiler never fuses across this call).
    @inline(never) static func noFMA(_ x: Float) -> Float { x }
}
