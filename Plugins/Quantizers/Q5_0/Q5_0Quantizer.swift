// The `q5_0` quantizer: GGUF Q5_0: 5-bit values, an f16 scale per block of 32.
// Packed as llama.cpp's llama-quantize packs it without an importance matrix (ggml's reference code, bit
// for bit), so a GGUF base of this type stays in its own blocks.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q5_0Quantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q5_0", name: "q5_0", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q5_0: 5-bit values, an f16 scale per block of 32")

    init(config: ConfigReader) throws { super.init(.q5_0) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q5_0Quantizer.self]) }
}
