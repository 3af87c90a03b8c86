// The `q4_1` quantizer: GGUF Q4_1: 4-bit values, f16 scale and minimum per block of 32.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q4_1Quantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying, Int8RowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q4_1", name: "q4_1", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q4_1: 4-bit values, f16 scale and minimum per block of 32")

    init(config: ConfigReader) throws { super.init(.q4_1) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q4_1Quantizer.self]) }
}
