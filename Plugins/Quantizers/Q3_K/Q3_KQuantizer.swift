// The `q3_k` quantizer: GGUF Q3_K: 3-bit values in super-blocks of 256, 6-bit signed scale per 16, an fp16 super-block scale.
// Packed as llama.cpp's llama-quantize packs it without an importance matrix (ggml's reference code, bit
// for bit), so a GGUF base of this type stays in its own blocks.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q3_KQuantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q3_k", name: "q3_k", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q3_K: 3-bit values in super-blocks of 256, 6-bit signed scale per 16, an fp16 super-block scale")

    init(config: ConfigReader) throws { super.init(.q3_K) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q3_KQuantizer.self]) }
}
