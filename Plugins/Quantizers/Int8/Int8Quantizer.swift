// The `int8` quantizer: LLM.int8-style row-wise absmax int8 (no outlier path).
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Int8Quantizer: QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.int8", name: "int8", version: "1.0.0", vendor: "Factory", summary: "LLM.int8-style row-wise absmax int8 (no outlier path)")

    var info: QuantizerInfo { QuantizerInfo(format: "int8", blockSize: 0, bitsPerWeight: 8.0, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws {}

    func packedSize(rows: Int, cols: Int) throws -> Int { try RowwiseInt8.packedSize(rows: rows, cols: cols) }

    func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        try requireFinite(source, cols: cols)
        RowwiseInt8.quantize(source, rows: rows, cols: cols, into: destination)
    }

    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into destination: UnsafeMutableBufferPointer<Float>) throws {
        RowwiseInt8.dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: destination)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Int8Quantizer.self]) }
}
