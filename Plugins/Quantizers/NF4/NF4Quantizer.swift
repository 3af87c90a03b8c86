// The `nf4` quantizer: bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class NF4Quantizer: CodecQuantizer, QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.nf4", name: "nf4", version: "1.0.0", vendor: "Factory",
        summary: "bitsandbytes NormalFloat4 (QLoRA): 4-bit codes, absmax per block of 64")

    var info: QuantizerInfo { QuantizerInfo(format: "nf4", blockSize: 64, bitsPerWeight: 4.5, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws { super.init(codec: FourBitCodebook.nf4) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [NF4Quantizer.self]) }
}
