// The `q5_1` quantizer: GGUF Q5_1: 5-bit values, f16 scale and minimum per block of 32.
// Packed as llama.cpp's llama-quantize packs it without an importance matrix (ggml's reference code, bit
// for bit), so a GGUF base of this type stays in its own blocks.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q5_1Quantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q5_1", name: "q5_1", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q5_1: 5-bit values, f16 scale and minimum per block of 32")

    init(config: ConfigReader) throws { super.init(.q5_1) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q5_1Quantizer.self]) }
}
