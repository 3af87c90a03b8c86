// The `q8_0` quantizer: GGUF Q8_0: int8 values, f16 scale per block of 32.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q8_0Quantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying, Int8RowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q8_0", name: "q8_0", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q8_0: int8 values, f16 scale per block of 32")

    init(config: ConfigReader) throws { super.init(.q8_0) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q8_0Quantizer.self]) }
}
