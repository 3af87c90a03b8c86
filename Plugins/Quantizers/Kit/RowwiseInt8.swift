// 8-bit row-wise absmax quantization (LLM.int8()'s weight format without the outlier path): each row
// keeps its absmax as fp32; values are round(x · 127 / absmax) as int8. Packed as all int8 values,
// then one fp32 scale per row.
import FactoryPluginKit

public struct RowwiseInt8: QuantizationCodec {
    public init() {}

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        guard cols > 0 else { throw PluginError.shapeMismatch("int8: \(cols) columns") }
        return rows * cols + rows * 4
    }

    public func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into out: UnsafeMutableRawBufferPointer) {
        let values = out.baseAddress!.assumingMemoryBound(to: Int8.self), scales = out.baseAddress! + rows * cols
        for r in 0..<rows {
            let row = x.baseAddress! + r * cols
            var absmax: Float = 0
            for c in 0..<cols { absmax = max(absmax, abs(row[c])) }
            scales.storeBytes(of: absmax, toByteOffset: r * 4, as: Float.self)
            let factor: Float = absmax == 0 ? 0 : 127 / absmax
            for c in 0..<cols { values[r * cols + c] = Int8(max(-127, min(127, (row[c] * factor).rounded(.toNearestOrEven)))) }
        }
    }

    public func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                                      into out: UnsafeMutableBufferPointer<Float>) {
        let values = packed.baseAddress!.assumingMemoryBound(to: Int8.self), scales = packed.baseAddress! + rows * cols
        for r in 0..<rowCount {
            let scale = scales.loadUnaligned(fromByteOffset: (firstRow + r) * 4, as: Float.self) / 127
            for c in 0..<cols { out[r * cols + c] = Float(values[(firstRow + r) * cols + c]) * scale }
        }
    }
}

