// The `nf4` quantizer: bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class NF4Quantizer: FourBitQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.nf4", name: "nf4", version: "1.0.0", vendor: "Factory",
        summary: "bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64", features: ["config:double_quantization"])

    init(config: ConfigReader) throws { try super.init(.nf4, format: "nf4", config: config) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [NF4Quantizer.self]) }
}
