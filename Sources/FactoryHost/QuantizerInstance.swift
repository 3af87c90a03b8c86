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
        _ = try table(factory_quantizer_t.self)
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

    public func quantize(_ values: [Float], rows: Int, cols: Int) throws -> [UInt8] {
        guard let f = q.pointee.quantize else { throw missing("quantize") }
        var packed = [UInt8](repeating: 0, count: try packedSize(rows: rows, cols: cols))
        let size = UInt64(packed.count)
        try values.withUnsafeBufferPointer { src in
            try packed.withUnsafeMutableBufferPointer { dst in
                try call("quantize") { err in f(q, src.baseAddress, UInt64(rows), UInt64(cols), dst.baseAddress, size, err) }
            }
        }
        return packed
    }

    public func dequantize(_ packed: [UInt8], rows: Int, cols: Int, firstRow: Int, rowCount: Int) throws -> [Float] {
        guard let f = q.pointee.dequantize_rows else { throw missing("dequantize_rows") }
        var out = [Float](repeating: 0, count: rowCount * cols)
        try packed.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try call("dequantize_rows") { err in
                    f(q, src.baseAddress, UInt64(src.count), UInt64(rows), UInt64(cols), UInt64(firstRow), UInt64(rowCount), dst.baseAddress, err)
                }
            }
        }
        return out
    }

    /// Calls quantize() with NULL buffers: a conforming plugin returns an error.
    func quantizeWithNullBuffers(rows: Int, cols: Int) -> PluginCallError? {
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
