// The `fp4` quantizer: bitsandbytes FP4: 4-bit float codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class FP4Quantizer: CodecQuantizer, QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.fp4", name: "fp4", version: "1.0.0", vendor: "Factory",
        summary: "bitsandbytes FP4: 4-bit float codes, absmax per block of 64")

    var info: QuantizerInfo { QuantizerInfo(format: "fp4", blockSize: 64, bitsPerWeight: 4.5, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws { super.init(codec: FourBitCodebook.fp4) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [FP4Quantizer.self]) }
}
