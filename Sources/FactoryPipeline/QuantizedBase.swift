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
        /// Weights that kept the checkpoint's own blocks (a GGUF already in the quantizer's format).
        public var fromFile = 0
        public var line: String {
            let ratio = fp32Bytes > 0 ? Double(packedBytes) / Double(fp32Bytes) : 0
            let kept = fromFile > 0 ? ", \(fromFile) kept in the file's own blocks" : ""
            return "\(weights) linear weights (\(parameters) parameters) packed: \(fp32Bytes >> 20) MiB fp32 → \(packedBytes >> 20) MiB (\(String(format: "%.3f", ratio * 4)) bytes/parameter\(kept))"
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

    /// Inference from a GGUF with no quantizer: every linear weight and the LM head (often the largest
    /// matrix, read whole for every decoded token: Gemma 3's 262k × 640) multiply straight from the file's
    /// own blocks when decoding, where a quantizer plugin of their type has a direct product. Only the
    /// file's exact bytes are used — the plugin must unpack them to the fp32 values loaded — never a
    /// re-quantization; a weight the family reordered (llama.cpp's q and k rows) takes the file's rows in
    /// the loaded order (ReorderedFileBlocks), one it transformed otherwise stays fp32. The fp32 tensors
    /// stay for products of many rows (prefill, scoring: sgemm is faster there), the embedding lookup (a
    /// tied head) and anything that reads a weight itself. nil: nothing done.
    static func keepOwnBlocks(_ store: ParameterStore, description: JSON, checkpoint: GGUFCheckpoint, family: ModelFamilyInstance,
                              plugins: PluginSet) -> String? {
        var quantizers: [String: QuantizerInstance?] = [:]
        func quantizer(_ format: String) -> QuantizerInstance? {
            if let known = quantizers[format] { return known }
            let q = (try? plugins.registry(.quantizer).lookup(format)).flatMap { try? QuantizerInstance($0) }
            quantizers[format] = q?.multipliesPacked == true ? q : nil
            return quantizers[format] ?? nil
        }
        var report = Report(weights: 0, parameters: 0, fp32Bytes: 0, packedBytes: 0)
        var formats = Set<String>(), reordered = 0
        lazy var fileTensors = ReorderedFileBlocks.byParameter(checkpoint.file, family: family)
        for name in linearWeights(description) + ["lm_head.weight"] {
            guard let w = store[name], w.rank == 2 else { continue }
            let before = report.fromFile
            var packed: PackedWeight?, format: String?
            if let f = checkpoint.fileFormat(of: w), let q = quantizer(f), let own = checkpoint.ownBlocks(of: w, format: f) {
                packed = try? pack(w, q, fileBlocks: own, into: &report)
                format = f
            } else if let info = fileTensors[name], info.shape == w.shape, let q = quantizer(info.type.description.lowercased()),
                      let rows = ReorderedFileBlocks.rowsInLoadedOrder(w, checkpoint.file.bytes(info), q) {
                packed = try? pack(w, q, fileBlocks: rows.buffer, into: &report)
                format = info.type.description.lowercased()
                if report.fromFile == before + 1 { reordered += 1 }
            }
            guard let packed, let format, report.fromFile == before + 1 else { continue }
            packed.dense = w  // many-row inputs keep sgemm on the fp32 weight
            store.packed[name] = packed
            formats.insert(format)
        }
        guard report.weights > 0 else { return nil }
        return "decoding multiplies \(report.weights) weights from the file's own \(formats.sorted().joined(separator: "/")) blocks"
            + (reordered > 0 ? " (\(reordered) with their rows in the loaded order)" : "")
            + ": \(report.fp32Bytes >> 20) MiB fp32 → \(report.packedBytes >> 20) MiB read per token"
    }

    /// The weights a quantizer packs: what the family marks as linear, except the LM head.
    static func linearWeights(_ description: JSON) -> [String] {
        (description["parameters"]?.arrayValue ?? []).compactMap { p in
            guard p["linear"]?.boolValue == true, let name = p["name"]?.stringValue, !name.hasPrefix("lm_head") else { return nil }
            return name
        }
    }

    /// Packs `w`, or takes `fileBlocks` (the checkpoint's own bytes of it, in a format of the
    /// quantizer's name) when they have the size the quantizer expects and the quantizer unpacks
    /// their first row to exactly `w`'s — so a plugin that only shares the name is never trusted
    /// with bytes it does not read the same way.
    static func pack(_ w: Tensor, _ quantizer: QuantizerInstance, fileBlocks: UnsafeRawBufferPointer? = nil, into report: inout Report) throws -> PackedWeight {
        let (rows, cols) = (w.shape[0], w.shape[1])
        let size = try quantizer.packedSize(rows: rows, cols: cols)
        let source = w.contiguous()
        func readsTheSame(_ own: UnsafeRawBufferPointer) -> Bool {
            guard own.count == size, rows > 0 else { return false }
            let row = [Float](unsafeUninitializedCapacity: cols) { buffer, n in
                n = (try? quantizer.dequantize(own, rows: rows, cols: cols, firstRow: 0, rowCount: 1, into: buffer.baseAddress!)) != nil ? cols : 0
            }
            return row.count == cols && (0..<cols).allSatisfy { row[$0].bitPattern == source.data[$0].bitPattern }
        }
        let packed: PackedBytes
        if let own = fileBlocks, readsTheSame(own) {
            packed = PackedBytes(copying: own)
            report.fromFile += 1
        } else {
            packed = PackedBytes(count: size)
            try quantizer.quantize(UnsafePointer(source.data), rows: rows, cols: cols, into: packed.mutable)
        }
        report = Report(weights: report.weights + 1, parameters: report.parameters + rows * cols,
                        fp32Bytes: report.fp32Bytes + rows * cols * 4, packedBytes: report.packedBytes + size, fromFile: report.fromFile)
        return packedWeight(packed, rows: rows, cols: cols, quantizer)
    }

    /// A PackedWeight over `packed` bytes: tiles unpack through the plugin's dequantize_rows; few-row
    /// inputs multiply through its 8-bit-input product (prepared on first use) or its matmul_rows.
    static func packedWeight(_ storage: PackedBytes, rows: Int, cols: Int, _ quantizer: QuantizerInstance) -> PackedWeight {
        let product: PackedWeight.RowProduct? = quantizer.multipliesPacked ? { x, n, first, count, out, stride in
            try quantizer.multiplyRows(storage.buffer, rows: rows, cols: cols, x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride)
        } : nil
        let prepareInt8: (() throws -> PackedWeight.RowProduct?)? = quantizer.multipliesInt8 ? {
            guard let prepared = try quantizer.prepareRowsInt8(storage.buffer, rows: rows, cols: cols) else { return nil }
            return { x, n, first, count, out, stride in
                try prepared.multiply(x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride)
            }
        } : nil
        return PackedWeight(rows: rows, cols: cols, bytes: storage.buffer.count, unpack: { first, count, into in
            try quantizer.dequantize(storage.buffer, rows: rows, cols: cols, firstRow: first, rowCount: count, into: into)
        }, multiplyRows: product, prepareInt8: prepareInt8)
    }

    /// Packing while a model loads: each linear weight is packed as the family registers it. A
    /// weight the checkpoint holds in the quantizer's own format keeps its bytes (`fileBlocks`);
    /// one the family reordered (llama.cpp's q/k rows) is packed again from its values.
    final class Packing {
        let quantizer: QuantizerInstance
        var report = Report(weights: 0, parameters: 0, fp32Bytes: 0, packedBytes: 0)
        init(_ quantizer: QuantizerInstance) { self.quantizer = quantizer }

        func start(_ store: ParameterStore, description: JSON, fileBlocks: ((Tensor, String) -> UnsafeRawBufferPointer?)? = nil) throws {
            let names = Set(QuantizedBase.linearWeights(description))
            let format = try quantizer.declaration().format.lowercased()
            store.packOnRegister = { [self] name, t in
                guard names.contains(name), t.rank == 2 else { return nil }
                return try QuantizedBase.pack(t, quantizer, fileBlocks: fileBlocks?(t, format), into: &report)
            }
        }

        func finish(_ store: ParameterStore) {
            store.packOnRegister = nil
            BufferPool.shared.trim()
        }
    }
}

/// Packed bytes at a fixed address for the weight's lifetime (read from several threads at once).
final class PackedBytes: @unchecked Sendable {
    let buffer: UnsafeRawBufferPointer
    /// Room for `count` bytes, filled by the caller through `mutable`.
    init(count: Int) {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        buffer = UnsafeRawBufferPointer(start: b.baseAddress, count: count)
    }
    convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        mutable.copyMemory(from: bytes)
    }
    var mutable: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(mutating: buffer) }
    deinit { buffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0).deallocate() } }
}
