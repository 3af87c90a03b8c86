// The `q4_0` quantizer: GGUF Q4_0: 4-bit values offset by 8, f16 scale per block of 32.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q4_0Quantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying, Int8RowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q4_0", name: "q4_0", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q4_0: 4-bit values offset by 8, f16 scale per block of 32")

    init(config: ConfigReader) throws { super.init(.q4_0) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q4_0Quantizer.self]) }
}
