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

/// A plugin's own layout of one packed matrix for products with 8-bit inputs (ABI 1.9): built once by
/// `Int8RowMultiplying.prepareRowsInt8`, held by the host through an opaque handle until it releases it.
/// Read-only once built: `multiply` runs from several threads at once on disjoint row ranges.
public protocol PreparedRowsInt8: AnyObject {
    /// Rows of the matrix it was built from.
    var rows: Int { get }
    /// Bytes the layout holds.
    var bytes: Int { get }
    /// out[i * outStride + (r − firstRow)] for i < n and r in [firstRow, firstRow + rowCount): x[i] · W[r] with
    /// each 32-value block of x[i] rounded to int8 codes of step max|x| / 127 first (the bound in quantizer.h).
    func multiply(x: UnsafePointer<Float>, n: Int, firstRow: Int, rowCount: Int, out: UnsafeMutablePointer<Float>, outStride: Int) throws
}

/// A quantizer with products whose inputs are rounded to 8 bits (ABI 1.9 `prepare_rows_int8`,
/// `matmul_rows_int8`, `release_rows_int8`), as llama.cpp decodes; the host uses them for decoding unless
/// the run says `int8_activations: false`.
public protocol Int8RowMultiplying {
    /// The layout for the packed [rows, cols] matrix (read during the call only); nil when this matrix
    /// cannot have one (the host keeps matmul_rows for it).
    func prepareRowsInt8(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int) throws -> PreparedRowsInt8?
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
            if q is Int8RowMultiplying { bindInt8Products(t) }
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

    /// The three 1.9 calls over an `Int8RowMultiplying` plugin: a handle is a retained `PreparedRowsInt8`.
    static func bindInt8Products(_ t: UnsafeMutablePointer<factory_quantizer_t>) {
        t.pointee.prepare_rows_int8 = { selfPtr, packed, packedSize, rows, cols, prepared, bytes, err in
            reportingErrors(err) {
                let q = try component(selfPtr, as: (any QuantizerPlugin).self)
                guard let m = q as? Int8RowMultiplying else { throw PluginError.invalidArgument("no 8-bit-input products") }
                let r = try checkedInt(rows, "rows"), c = try checkedInt(cols, "cols")
                guard let packed, let prepared, let bytes else { throw PluginError.invalidArgument("packed, prepared or bytes is NULL") }
                let need = try q.packedSize(rows: r, cols: c)
                guard packedSize >= UInt64(need) else {
                    throw PluginError.shapeMismatch("packed buffer holds \(packedSize) bytes, [\(r), \(c)] needs \(need)")
                }
                guard let layout = try m.prepareRowsInt8(UnsafeRawBufferPointer(start: packed, count: need), rows: r, cols: c) else {
                    throw PluginError.unsupported("no 8-bit-input layout for a [\(r), \(c)] matrix")
                }
                prepared.pointee = Unmanaged.passRetained(layout as AnyObject).toOpaque()
                bytes.pointee = UInt64(layout.bytes)
            }
        }
        t.pointee.matmul_rows_int8 = { _, prepared, x, n, first, count, out, outStride, err in
            reportingErrors(err) {
                guard let prepared, let x, let out else { throw PluginError.invalidArgument("prepared, x or out is NULL") }
                guard let layout = Unmanaged<AnyObject>.fromOpaque(prepared).takeUnretainedValue() as? PreparedRowsInt8 else {
                    throw PluginError.invalidArgument("prepared is not a handle from prepare_rows_int8")
                }
                let inputs = try checkedInt(n, "n"), f = try checkedInt(first, "first_row"), k = try checkedInt(count, "row_count")
                let stride = try checkedInt(outStride, "out_stride")
                guard f <= layout.rows, k <= layout.rows - f else {
                    throw PluginError.invalidArgument("rows [\(f), \(f + k)) are outside a matrix of \(layout.rows) rows")
                }
                guard stride >= k else { throw PluginError.invalidArgument("out_stride \(stride) is less than row_count \(k)") }
                try layout.multiply(x: x, n: inputs, firstRow: f, rowCount: k, out: out, outStride: stride)
            }
        }
        t.pointee.release_rows_int8 = { _, prepared in
            prepared.map { Unmanaged<AnyObject>.fromOpaque($0).release() }
        }
    }
}
