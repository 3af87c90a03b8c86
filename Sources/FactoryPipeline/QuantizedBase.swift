import FactoryEngine
import FactoryHost
import FactoryJSON

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

    /// Packs the linear weights of an already loaded model.
    @discardableResult
    public static func apply(_ model: LoadedModel, quantizer: QuantizerInstance) throws -> Report {
        let store = model.parameters
        let names = linearWeights(model.description)
        var report = Report(weights: 0, parameters: 0, fp32Bytes: 0, packedBytes: 0)
        for name in names.sorted() {
            guard let w = store[name], w.rank == 2 else { continue }
            store.packed[name] = try pack(w, quantizer, into: &report)
            store[name] = nil
        }
        BufferPool.shared.trim()  // the fp32 copies go back to the system, not into the pool
        model.packReport = report
        return report
    }

    /// The weights a quantizer packs: what the family marks as linear, except the LM head.
    static func linearWeights(_ description: JSON) -> Set<String> {
        Set((description["parameters"]?.arrayValue ?? []).compactMap { p in
            guard p["linear"]?.boolValue == true, let name = p["name"]?.stringValue, !name.hasPrefix("lm_head") else { return nil }
            return name
        })
    }

    static func pack(_ w: Tensor, _ quantizer: QuantizerInstance, into report: inout Report) throws -> PackedWeight {
        let (rows, cols) = (w.shape[0], w.shape[1])
        let packed = try quantizer.quantize(w.values, rows: rows, cols: cols)
        report = Report(weights: report.weights + 1, parameters: report.parameters + rows * cols,
                        fp32Bytes: report.fp32Bytes + rows * cols * 4, packedBytes: report.packedBytes + packed.count)
        return PackedWeight(rows: rows, cols: cols, bytes: packed.count) { first, count, into in
            let values = try quantizer.dequantize(packed, rows: rows, cols: cols, firstRow: first, rowCount: count)
            values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
        }
    }

    /// Packing while a model loads: each linear weight is packed as the family registers it.
    final class Packing {
        let quantizer: QuantizerInstance
        var report = Report(weights: 0, parameters: 0, fp32Bytes: 0, packedBytes: 0)
        init(_ quantizer: QuantizerInstance) { self.quantizer = quantizer }

        func start(_ store: ParameterStore, description: JSON) throws {
            let names = QuantizedBase.linearWeights(description)
            store.packOnRegister = { [self] name, t in
                guard names.contains(name), t.rank == 2 else { return nil }
                return try QuantizedBase.pack(t, quantizer, into: &report)
            }
        }

        func finish(_ store: ParameterStore) {
            store.packOnRegister = nil
            BufferPool.shared.trim()
        }
    }
}
