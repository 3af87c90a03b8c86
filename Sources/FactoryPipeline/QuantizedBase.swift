import FactoryEngine
import FactoryHost

/// Keeps a loaded model's linear weights packed by a quantizer plugin (QLoRA's base, or inference
/// on quantized weights): every weight the family marks as a linear, except the LM head, is packed
/// and its fp32 copy dropped; the base linear then multiplies through the packed form a tile at a
/// time (packedLinear). Embeddings, norms and biases stay fp32, as bitsandbytes leaves them.
public enum QuantizedBase {
    /// What was packed: weights, parameters and bytes before/after.
    public struct Report: Sendable {
        public let weights: Int
        public let parameters: Int
        public let fp32Bytes: Int
        public let packedBytes: Int
        public var line: String {
            let ratio = fp32Bytes > 0 ? Double(packedBytes) / Double(fp32Bytes) : 0
            return "\(weights) linear weights (\(parameters) parameters) packed: \(fp32Bytes >> 20) MiB fp32 → \(packedBytes >> 20) MiB (\(String(format: "%.3f", ratio * 4)) bytes/parameter)"
        }
    }

    @discardableResult
    public static func apply(_ model: LoadedModel, quantizer: QuantizerInstance) throws -> Report {
        let store = model.parameters
        var weights = 0, parameters = 0, fp32 = 0, packedBytes = 0
        for p in model.description["parameters"]?.arrayValue ?? [] where p["linear"]?.boolValue == true {
            guard let name = p["name"]?.stringValue, !name.hasPrefix("lm_head"), let w = store[name], w.rank == 2 else { continue }
            let (rows, cols) = (w.shape[0], w.shape[1])
            let packed = try quantizer.quantize(w.values, rows: rows, cols: cols)
            let q = quantizer
            store.packed[name] = PackedWeight(rows: rows, cols: cols, bytes: packed.count) { first, count, into in
                let values = try q.dequantize(packed, rows: rows, cols: cols, firstRow: first, rowCount: count)
                values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
            }
            store[name] = nil
            weights += 1
            parameters += rows * cols
            fp32 += rows * cols * 4
            packedBytes += packed.count
        }
        BufferPool.shared.trim()  // the fp32 copies go back to the system, not into the pool
        return Report(weights: weights, parameters: parameters, fp32Bytes: fp32, packedBytes: packedBytes)
    }
}
