// bf16 and f16 storage for frozen weights: 2 bytes per element, converted to
// fp32 when computed with. bf16 is the top half of an fp32; f16 is IEEE
// binary16 (Swift's Float16 does the rounding and subnormals).

extension Storage {
    /// A bf16 or f16 storage holding `values` rounded to nearest even.
    public static func half(_ values: [Float], as dtype: DType) -> Storage {
        precondition(dtype == .bf16 || dtype == .f16, "half() stores bf16 or f16, not \(dtype)")
        let s = Storage(dtype: dtype, count: values.count)
        let p = s.base.assumingMemoryBound(to: UInt16.self)
        for (i, v) in values.enumerated() {
            p[i] = dtype == .bf16 ? bf16Bits(v) : Float16(v).bitPattern
        }
        return s
    }

    /// The elements as fp32 (a copy for bf16/f16, the values themselves for f32).
    public func float32() -> [Float] {
        switch dtype {
        case .f32: return Array(UnsafeBufferPointer(start: floats, count: count))
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            return (0..<count).map { Float(bitPattern: UInt32(p[$0]) << 16) }
        case .f16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            return (0..<count).map { Float(Float16(bitPattern: p[$0])) }
        case .bytes:
            return []
        }
    }
}

/// fp32 → bf16 bits, round to nearest even (NaN stays a quiet NaN).
@inline(__always)
public func bf16Bits(_ v: Float) -> UInt16 {
    let bits = v.bitPattern
    if v.isNaN { return UInt16(bits >> 16) | 0x40 }
    let rounding = 0x7FFF &+ ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}

extension Tensor {
    /// A contiguous fp32 tensor from a bf16/f16 storage (frozen weights stored compactly).
    public static func widened(_ storage: Storage, shape: [Int]) -> Tensor {
        precondition(storage.count == shape.reduce(1, *), "storage of \(storage.count) elements for shape \(shape)")
        return Tensor(shape: shape, values: storage.float32())
    }
}
