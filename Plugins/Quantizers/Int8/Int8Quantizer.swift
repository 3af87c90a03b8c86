// The `int8` quantizer: LLM.int8-style row-wise absmax int8 (no outlier path).
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class Int8Quantizer: CodecQuantizer, QuantizerPlugin, PackedRowMultiplying {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.int8", name: "int8", version: "1.0.0", vendor: "Factory",
        summary: "LLM.int8-style row-wise absmax int8 (no outlier path)")

    var info: QuantizerInfo { QuantizerInfo(format: "int8", blockSize: 0, bitsPerWeight: 8.0, trainableBase: false, mergeable: true) }

    init(config: ConfigReader) throws { super.init(codec: RowwiseInt8()) }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [Int8Quantizer.self]) }
}
