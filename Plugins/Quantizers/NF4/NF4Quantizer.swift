// The `nf4` quantizer: bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class NF4Quantizer: QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.nf4", name: "nf4", version: "1.0.0", vendor: "Factory", summary: "bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64")

    var info: QuantizerInfo { QuantizerInfo(format: "nf4", blockSize: 64, bitsPerWeight: 4.5, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws {}

    func packedSize(rows: Int, cols: Int) throws -> Int { try FourBitCodebook.nf4.packedSize(rows: rows, cols: cols) }

    func quantize(_ source: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        try requireFinite(source, cols: cols)
        FourBitCodebook.nf4.quantize(source, rows: rows, cols: cols, into: destination)
    }

    func dequantizeRows(_ packed: UnsafeRawBufferPointer, rows: Int, cols: Int, firstRow: Int, rowCount: Int,
                        into destination: UnsafeMutableBufferPointer<Float>) throws {
        FourBitCodebook.nf4.dequantizeRows(packed, rows: rows, cols: cols, firstRow: firstRow, rowCount: rowCount, into: destination)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [NF4Quantizer.self]) }
}
