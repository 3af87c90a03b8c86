// The `q4_1` quantizer: GGUF Q4_1: 4-bit values, f16 scale and minimum per block of 32.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q4_1Quantizer: QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q4_1", name: "q4_1", version: "1.0.0", vendor: "Factory", summary: "GGUF Q4_1: 4-bit values, f16 scale and minimum per block of 32")

    var info: QuantizerInfo { QuantizerInfo(format: "q4_1", blockSize: 32, bitsPerWeight: 5.0, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws {}

    func packedSize(rows: Int, cols: Int) throws -> Int { try GGMLBlockFormat.q4_1.packedSize(rows: rows, cols: cols) }

    func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        try requireFinite(source, cols: cols)
        GGMLBlockFormat.q4_1.quantize(source, rows: rows, cols: cols, into: destination)
    }

    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into destination: UnsafeMutableBufferPointer<Float>) throws {
        GGMLBlockFormat.q4_1.dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: destination)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q4_1Quantizer.self]) }
}
