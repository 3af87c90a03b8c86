// The `fp4` quantizer: bitsandbytes FP4: 4-bit float codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class FP4Quantizer: QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.fp4", name: "fp4", version: "1.0.0", vendor: "Factory", summary: "bitsandbytes FP4: 4-bit float codes, absmax per block of 64")

    var info: QuantizerInfo { QuantizerInfo(format: "fp4", blockSize: 64, bitsPerWeight: 4.5, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws {}

    func packedSize(rows: Int, cols: Int) throws -> Int { try FourBitCodebook.fp4.packedSize(rows: rows, cols: cols) }

    func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        try requireFinite(source, cols: cols)
        FourBitCodebook.fp4.quantize(source, rows: rows, cols: cols, into: destination)
    }

    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into destination: UnsafeMutableBufferPointer<Float>) throws {
        FourBitCodebook.fp4.dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: destination)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [FP4Quantizer.self]) }
}
