import CFactoryABI
import FactoryJSON

/// What a quantizer declared, read from its info struct.
public struct QuantizerDeclaration: Sendable {
    public let format: String
    public let blockSize: Int
    public let bitsPerWeight: Double
    public let trainableBase: Bool
    public let mergeable: Bool
}

/// A quantizer plugin instance seen from the host.
public final class QuantizerInstance: ComponentInstance {
    private var q: UnsafePointer<factory_quantizer_t> { UnsafeRawPointer(base).assumingMemoryBound(to: factory_quantizer_t.self) }

    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        _ = try table(factory_quantizer_t.self, minimumSize: MemoryLayout<factory_quantizer_t>.offset(of: \.matmul_rows)!)
    }

    /// The declaration; fails when the plugin returns none.
    public func declaration() throws -> QuantizerDeclaration {
        guard let infoFn = q.pointee.info, let info = infoFn(q) else { throw missing("info") }
        let i = info.pointee
        guard Int(i.struct_size) >= MemoryLayout<factory_quantizer_info_t>.size, let format = i.format else { throw missing("a well-formed info struct") }
        return QuantizerDeclaration(format: String(cString: format), blockSize: Int(i.block_size), bitsPerWeight: i.bits_per_weight,
                                    trainableBase: i.trainable_base, mergeable: i.mergeable)
    }

    public func packedSize(rows: Int, cols: Int) throws -> Int {
        guard let f = q.pointee.packed_size else { throw missing("packed_size") }
        var size: UInt64 = 0
        try call("packed_size") { err in f(q, UInt64(rows), UInt64(cols), &size, err) }
        return Int(size)
    }

    /// Packs `values` (rows × cols) into a new array of packedSize bytes.
    public func quantize(_ values: [Float], rows: Int, cols: Int) throws -> [UInt8] {
        var packed = [UInt8](repeating: 0, count: try packedSize(rows: rows, cols: cols))
        try values.withUnsafeBufferPointer { src in
            try packed.withUnsafeMutableBytes { dst in try quantize(src.baseAddress!, rows: rows, cols: cols, into: dst) }
        }
        return packed
    }

    /// Packs `source` (rows × cols floats) into `into` (at least packedSize bytes).
    public func quantize(_ source: UnsafePointer<Float>, rows: Int, cols: Int, into: UnsafeMutableRawBufferPointer) throws {
        guard let f = q.pointee.quantize else { throw missing("quantize") }
        try call("quantize") { err in
            f(q, source, UInt64(rows), UInt64(cols), into.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(into.count), err)
        }
    }

    /// Rows [firstRow, firstRow + rowCount) of `packed` as a new array of rowCount × cols floats.
    public func dequantize(_ packed: [UInt8], rows: Int, cols: Int, firstRow: Int, rowCount: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: rowCount * cols)
        try packed.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try dequantize(src, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: dst.baseAddress!)
            }
        }
        return out
    }

    /// Unpacks rows of `packed` straight into `into` (rowCount × cols floats).
    public func dequantize(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                           into: UnsafeMutablePointer<Float>) throws {
        guard let f = q.pointee.dequantize_rows else { throw missing("dequantize_rows") }
        try call("dequantize_rows") { err in
            f(q, packed.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(packed.count), UInt64(rows), UInt64(cols),
              UInt64(firstRow), UInt64(rowCount), into, err)
        }
    }

    /// Whether the plugin multiplies straight from packed rows (ABI 1.4 matmul_rows: in its table and non-NULL).
    public var multipliesPacked: Bool { hasMatmulRows && q.pointee.matmul_rows != nil }

    private var hasMatmulRows: Bool { has(factory_quantizer_t.self, \.matmul_rows) }

    /// out[i, r − firstRow] = x[i] · W[r] for a row range, by the plugin's matmul_rows (thread-safe on
    /// disjoint ranges); fails when the plugin has none.
    public func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int,
                             rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) throws {
        guard hasMatmulRows, let f = q.pointee.matmul_rows else { throw missing("matmul_rows") }
        try call("matmul_rows") { err in
            f(q, packed.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(packed.count), UInt64(rows), UInt64(cols), x, UInt64(n),
              UInt64(firstRow), UInt64(rowCount), out, UInt64(outStride), err)
        }
    }

    /// Whether the plugin has the 8-bit-input products (ABI 1.9: prepare_rows_int8, matmul_rows_int8 and
    /// release_rows_int8 all in its table and non-NULL).
    public var multipliesInt8: Bool {
        has(factory_quantizer_t.self, \.release_rows_int8) && q.pointee.prepare_rows_int8 != nil && q.pointee.matmul_rows_int8 != nil
            && q.pointee.release_rows_int8 != nil
    }

    /// The plugin's 8-bit-input layout of `packed` (read during the call only); nil when the plugin has
    /// none or declines this matrix (FACTORY_ERR_UNSUPPORTED: the caller keeps matmul_rows).
    public func prepareRowsInt8(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int) throws -> PreparedRowsInt8? {
        guard multipliesInt8, let f = q.pointee.prepare_rows_int8 else { return nil }
        var handle: UnsafeMutableRawPointer?
        var bytes: UInt64 = 0
        do {
            try call("prepare_rows_int8") { err in
                f(q, packed.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(packed.count), UInt64(rows), UInt64(cols), &handle, &bytes, err)
            }
        } catch let e as PluginCallError where e.status == FACTORY_ERR_UNSUPPORTED.rawValue {
            return nil
        }
        guard let handle else { throw missing("a handle from prepare_rows_int8") }
        return PreparedRowsInt8(self, handle: handle, rows: rows, bytes: Int(bytes))
    }

    /// Calls quantize() with NULL buffers: a conforming plugin returns an error.
    package func quantizeWithNullBuffers(rows: Int, cols: Int) -> PluginCallError? {
        guard let f = q.pointee.quantize else { return missing("quantize") }
        do {
            try call("quantize") { err in f(q, nil, UInt64(rows), UInt64(cols), nil, 0, err) }
            return nil
        } catch { return error as? PluginCallError }
    }

    private func missing(_ what: String) -> PluginCallError {
        PluginCallError(component: component.name, call: what, status: FACTORY_ERR_INTERNAL.rawValue, message: "the plugin provides no \(what)")
    }
}

/// A plugin's 8-bit-input layout of one packed matrix (prepare_rows_int8), released when the last
/// reference goes. Keeps its quantizer instance (and so the plugin) alive. Thread: `multiply` from several
/// threads at once on disjoint row ranges.
public final class PreparedRowsInt8: @unchecked Sendable {
    private let quantizer: QuantizerInstance
    private let handle: UnsafeMutableRawPointer
    public let rows: Int
    /// Bytes the plugin says the layout holds.
    public let bytes: Int

    init(_ quantizer: QuantizerInstance, handle: UnsafeMutableRawPointer, rows: Int, bytes: Int) {
        (self.quantizer, self.handle, self.rows, self.bytes) = (quantizer, handle, rows, bytes)
    }
    deinit { quantizer.releaseRowsInt8(handle) }

    /// out[i, r − firstRow] ≈ x[i] · W[r] with x rounded to 8 bits per 32-value block (matmul_rows_int8).
    public func multiply(x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) throws {
        try quantizer.multiplyRowsInt8(handle, x: x, n: n, firstRow: firstRow, rowCount: rowCount, out: out, outStride: outStride)
    }
}

extension QuantizerInstance {
    fileprivate func multiplyRowsInt8(_ handle: UnsafeMutableRawPointer, x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int,
                                      out: UnsafeMutablePointer<Float>, outStride: Int) throws {
        guard let f = q.pointee.matmul_rows_int8 else { throw missing("matmul_rows_int8") }
        try call("matmul_rows_int8") { err in f(q, handle, x, UInt64(n), UInt64(firstRow), UInt64(rowCount), out, UInt64(outStride), err) }
    }

    fileprivate func releaseRowsInt8(_ handle: UnsafeMutableRawPointer) {
        q.pointee.release_rows_int8?(q, handle)
    }
}
