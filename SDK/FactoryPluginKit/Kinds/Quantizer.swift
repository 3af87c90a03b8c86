import CFactoryABI

/// What a quantizer declares (see factory_quantizer_info_t).
public struct QuantizerInfo: Sendable {
    public var format: String
    public var blockSize: Int
    public var bitsPerWeight: Double
    public var trainableBase: Bool
    public var mergeable: Bool

    public init(format: String, blockSize: Int, bitsPerWeight: Double, trainableBase: Bool = false, mergeable: Bool = true) {
        self.format = format
        self.blockSize = blockSize
        self.bitsPerWeight = bitsPerWeight
        self.trainableBase = trainableBase
        self.mergeable = mergeable
    }
}

/// A quantizer component: packs row-major [rows, cols] fp32 matrices and
/// unpacks any row range of them.
public protocol QuantizerPlugin: PluginComponent {
    var info: QuantizerInfo { get }
    /// Bytes for a packed [rows, cols] matrix; throw shapeMismatch for unsuitable `cols`.
    func packedSize(rows: Int, cols: Int) throws -> Int
    /// Packs `source` (rows*cols values) into `destination` (at least packedSize bytes).
    func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws
    /// Unpacks rows [firstRow, firstRow+rowCount) into `destination` (rowCount*cols values).
    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into destination: UnsafeMutableBufferPointer<Float>) throws
}

/// A quantizer that also multiplies straight from packed rows (ABI 1.4 `matmul_rows`): the host calls
/// it for inputs of a few rows (decoding), at once from several threads on disjoint row ranges.
public protocol PackedRowMultiplying {
    /// out[i * outStride + (r − firstRow)] = Σ_c x[i * cols + c] · W[r, c] for i < n and the rows
    /// [firstRow, firstRow + rowCount) of the packed [rows, cols] matrix.
    func multiplyRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int) throws
}

enum QuantizerBinding {
    static func table(_ box: InstanceBox) throws -> UnsafePointer<factory_instance_t> {
        let q = try component(of: box, as: (any QuantizerPlugin).self)
        let declared = q.info
        let info = box.memory.block(factory_quantizer_info_t.self)
        info.pointee = factory_quantizer_info_t(
            struct_size: UInt32(MemoryLayout<factory_quantizer_info_t>.size), format: box.memory.string(declared.format),
            block_size: UInt32(clamping: declared.blockSize), bits_per_weight: declared.bitsPerWeight,
            trainable_base: declared.trainableBase, mergeable: declared.mergeable)
        box.info = UnsafeRawPointer(info)
        return box.makeTable(factory_quantizer_t.self) { t in
            t.pointee.info = { selfPtr in declaredInfo(selfPtr, as: factory_quantizer_info_t.self) }
            t.pointee.packed_size = { selfPtr, rows, cols, size, err in
                reportingErrors(err) {
                    let q = try component(selfPtr, as: (any QuantizerPlugin).self)
                    guard let size else { throw PluginError.invalidArgument("size pointer is NULL") }
                    size.pointee = UInt64(try q.packedSize(rows: checkedInt(rows, "rows"), cols: checkedInt(cols, "cols")))
                }
            }
            t.pointee.quantize = { selfPtr, src, rows, cols, dst, dstSize, err in
                reportingErrors(err) {
                    let q = try component(selfPtr, as: (any QuantizerPlugin).self)
                    let r = try checkedInt(rows, "rows"), c = try checkedInt(cols, "cols")
                    let (count, overflow) = r.multipliedReportingOverflow(by: c)
                    guard !overflow else { throw PluginError.invalidArgument("rows*cols overflows") }
                    guard let src, let dst else { throw PluginError.invalidArgument("source or destination is NULL") }
                    let need = try q.packedSize(rows: r, cols: c)
                    guard dstSize >= UInt64(need) else {
                        throw PluginError.shapeMismatch("destination holds \(dstSize) bytes, packing [\(r), \(c)] needs \(need)")
                    }
                    try q.quantize(UnsafeBufferPointer(start: src, count: count), rows: r, cols: c,
                                   into: UnsafeMutableRawBufferPointer(start: dst, count: try checkedInt(dstSize, "dst_size")))
                }
            }
            t.pointee.dequantize_rows = { selfPtr, packed, packedSize, rows, cols, first, count, dst, err in
                reportingErrors(err) {
                    let q = try component(selfPtr, as: (any QuantizerPlugin).self)
                    let r = try checkedInt(rows, "rows"), c = try checkedInt(cols, "cols")
                    let f = try checkedInt(first, "first_row"), n = try checkedInt(count, "row_count")
                    guard f <= r, n <= r - f else { throw PluginError.invalidArgument("rows [\(f), \(f + n)) are outside a matrix of \(r) rows") }
                    guard let packed, let dst else { throw PluginError.invalidArgument("packed or destination is NULL") }
                    let need = try q.packedSize(rows: r, cols: c)
                    guard packedSize >= UInt64(need) else {
                        throw PluginError.shapeMismatch("packed buffer holds \(packedSize) bytes, [\(r), \(c)] needs \(need)")
                    }
                    let (values, overflow) = n.multipliedReportingOverflow(by: c)
                    guard !overflow else { throw PluginError.invalidArgument("row_count*cols overflows") }
                    try q.dequantizeRows(UnsafeRawBufferPointer(start: packed, count: need), rows: r, cols: c, firstRow: f,
                                         rowCount: n, into: UnsafeMutableBufferPointer(start: dst, count: values))
                }
            }
            guard q is PackedRowMultiplying else { return }
            t.pointee.matmul_rows = { selfPtr, packed, packedSize, rows, cols, x, n, first, count, out, outStride, err in
                reportingErrors(err) {
                    let q = try component(selfPtr, as: (any QuantizerPlugin).self)
                    guard let m = q as? PackedRowMultiplying else { throw PluginError.invalidArgument("no packed product") }
                    let r = try checkedInt(rows, "rows"), c = try checkedInt(cols, "cols"), inputs = try checkedInt(n, "n")
                    let f = try checkedInt(first, "first_row"), k = try checkedInt(count, "row_count"), stride = try checkedInt(outStride, "out_stride")
                    guard f <= r, k <= r - f else { throw PluginError.invalidArgument("rows [\(f), \(f + k)) are outside a matrix of \(r) rows") }
                    guard stride >= k else { throw PluginError.invalidArgument("out_stride \(stride) is less than row_count \(k)") }
                    guard let packed, let x, let out else { throw PluginError.invalidArgument("packed, x or out is NULL") }
                    let need = try q.packedSize(rows: r, cols: c)
                    guard packedSize >= UInt64(need) else {
                        throw PluginError.shapeMismatch("packed buffer holds \(packedSize) bytes, [\(r), \(c)] needs \(need)")
                    }
                    try m.multiplyRows(UnsafeRawBufferPointer(start: packed, count: need), rows: r, cols: c, x: x, n: inputs, firstRow: f,
                                       rowCount: k, out: out, outStride: stride)
                }
            }
        }
    }
}
