// The dtype an export writes its tensors in (LLaMA-Factory's infer_dtype), and the safetensors entries that
// convert Factory's fp32 tensors to it as they are written, a slice at a time (never a second whole copy).
import FactoryEngine
import FactoryFormats

/// float32, float16 or bfloat16: what `infer_dtype` names.
public enum ExportDType: String, CaseIterable, Sendable {
    case float32, float16, bfloat16

    /// safetensors' name of the dtype.
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        }
    }

    public var bytesPerValue: Int { self == .float32 ? 4 : 2 }

    /// `infer_dtype` as LLaMA-Factory's export reads it: a dtype by name; `auto` (the default) keeps the
    /// source checkpoint's half-precision dtype and turns float32 (and a GGUF, which transformers loads as
    /// float32) into bfloat16, as its infer_optim_dtype does on a machine with bf16.
    /// `declared`: the source checkpoint's config.json dtype (nil for a GGUF).
    public static func resolve(_ requested: String?, declared: String?) throws -> (ExportDType, why: String) {
        let name = requested ?? "auto"
        if name != "auto" {
            guard let dtype = ExportDType(rawValue: name) else {
                throw ExportError("infer_dtype: '\(name)' is not one of auto, \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return (dtype, "infer_dtype")
        }
        if let declared, let dtype = ExportDType(rawValue: declared), dtype != .float32 {
            return (dtype, "infer_dtype auto: the checkpoint's own dtype")
        }
        return (.bfloat16, "infer_dtype auto: float32 weights are written as bfloat16, as LLaMA-Factory does (infer_dtype: float32 keeps them)")
    }

    /// A safetensors entry writing `tensor` (contiguous fp32) in this dtype: float32 as it is, half
    /// precision rounded to nearest even, converted in slices of 1M values.
    public func entry(name: String, tensor: Tensor) -> SafetensorsWriter.Entry {
        let count = tensor.count, data = tensor.data
        switch self {
        case .float32:
            return SafetensorsWriter.Entry(name: name, shape: tensor.shape, values: UnsafeBufferPointer(start: data, count: count))
        case .float16, .bfloat16:
            let bf16 = self == .bfloat16
            return SafetensorsWriter.Entry(name: name, shape: tensor.shape, dtype: safetensorsName, byteCount: count * 2) { append in
                try Self.encodeHalf(data, count: count, bf16: bf16, append)
            }
        }
    }

    /// `count` floats as bfloat16 or float16 (rounded to nearest even), handed over in slices of 1M values.
    static func encodeHalf(_ data: UnsafePointer<Float>, count: Int, bf16: Bool, _ append: (UnsafeRawBufferPointer) throws -> Void) throws {
        let slice = 1 << 20
        var bits = [UInt16](repeating: 0, count: min(slice, count))
        for start in stride(from: 0, to: count, by: slice) {
            let n = min(slice, count - start)
            for i in 0..<n { bits[i] = bf16 ? bf16Bits(data[start + i]) : Float16(data[start + i]).bitPattern }
            try bits.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 2)])) }
        }
    }
}

/// An export failure: one line.
public struct ExportError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
