// The `fp4` quantizer: bitsandbytes FP4: 4-bit float codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class FP4Quantizer: FourBitQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.fp4", name: "fp4", version: "1.0.0", vendor: "Factory",
        summary: "bitsandbytes FP4: 4-bit float codes, absmax per block of 64", features: ["config:double_quantization"])

    init(config: ConfigReader) throws { try super.init(.fp4, format: "fp4", config: config) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [FP4Quantizer.self]) }
}
