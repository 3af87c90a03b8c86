// The `q2_k` quantizer: GGUF Q2_K: 2-bit values in super-blocks of 256, 4-bit scale and minimum per 16, fp16 super-block scales.
// Packed as llama.cpp's llama-quantize packs it without an importance matrix (ggml's reference code, bit
// for bit), so a GGUF base of this type stays in its own blocks.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q2_KQuantizer: GGMLQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q2_k", name: "q2_k", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q2_K: 2-bit values in super-blocks of 256, 4-bit scale and minimum per 16, fp16 super-block scales")

    init(config: ConfigReader) throws { super.init(.q2_K) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q2_KQuantizer.self]) }
}
