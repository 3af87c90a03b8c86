// The `q8_0` quantizer: GGUF Q8_0: int8 values, f16 scale per block of 32.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Q8_0Quantizer: CodecQuantizer, QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.q8_0", name: "q8_0", version: "1.0.0", vendor: "Factory",
        summary: "GGUF Q8_0: int8 values, f16 scale per block of 32")

    var info: QuantizerInfo { QuantizerInfo(format: "q8_0", blockSize: 32, bitsPerWeight: 8.5, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws { super.init(codec: GGMLBlockFormat.q8_0) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Q8_0Quantizer.self]) }
}
