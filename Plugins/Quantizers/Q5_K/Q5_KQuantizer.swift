// The `q5_k` quantizer: GGUF Q5_K: 5-bit values in super-blocks of 256, 6-bit scale and minimum per 32, fp16 super-block scales.
// Packed as llama.cpp's llama-quantize packs it without an importance matrix (ggml's reference code, bit
// for bit), so a GGUF base of this type stays in its own blocks.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q5_KQuantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q5_k", name: "q5_k", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q5_K: 5-bit values in super-blocks of 256, 6-bit scale and minimum per 32, fp16 super-block scales")

    init(config: ConfigReader) throws { super.init(.q5_K) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q5_KQuantizer.self]) }
}
