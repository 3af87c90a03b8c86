// The `fp4` quantizer: bitsandbytes FP4: 4-bit float codes, absmax per block of 64.
import CFactoryABI
import FactoryPluginKit
import QuantizerKit

final class FP4Quantizer: CodecQuantizer, QuantizerPlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.quantizer.fp4", name: "fp4", version: "1.0.0", vendor: "Factory",
        summary: "bitsandbytes FP4: 4-bit float codes, absmax per block of 64", features: ["config:double_quantization"])

    /// With double quantization the block absmax values are 8-bit codes too: 4 + 8/64 + 32/16384 bits.
    let doubleQuantization: Bool
    var info: QuantizerInfo {
        QuantizerInfo(format: "fp4", blockSize: 64, bitsPerWeight: doubleQuantization ? 4 + 8.0 / 64 + 32.0 / 16384 : 4.5,
                      trainableBase: false, mergeable: true)
    }

    /// Config: `double_quantization` (bool, default false; the host passes LLaMA-Factory's key, whose default is true).
    init(config: ConfigReader) throws {
        doubleQuantization = try config.bool("double_quantization", default: false)
        super.init(codec: doubleQuantization ? DoubleQuantizedCodebook(.fp4) : FourBitCodebook.fp4)
    }
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(quantizers: [FP4Quantizer.self]) }
}
