import CFactoryABI
import FactoryJSON

/// What a fine-tuning method declares (see factory_finetuning_method_info_t).
public struct FinetuningMethodInfo: Sendable {
    public var trainsBase: Bool
    public var quantizedBaseOK: Bool
    public var adapterFormat: String
    public init(trainsBase: Bool, quantizedBaseOK: Bool, adapterFormat: String) {
        self.trainsBase = trainsBase
        self.quantizedBaseOK = quantizedBaseOK
        self.adapterFormat = adapterFormat
    }
}

/// A fine-tuning method component, created from its section of the run config.
public protocol FinetuningMethodPlugin: PluginComponent {
    var info: FinetuningMethodInfo { get }
    /// Plans training for a model described by a family's describe() output.
    func plan(model: JSON) throws -> JSON
    /// The adapted linear for a name the plan listed in "adapted_linears" (ABI 1.2).
    func linear(_ name: String, _ x: HostTensor) throws -> HostTensor
}

extension FinetuningMethodPlugin {
    /// Methods that adapt no linear (full, freeze) keep this default.
    public func linear(_ name: String, _ x: HostTensor) throws -> HostTensor {
        throw PluginError.unsupported("this method adapts no linear ('\(name)')")
    }
}

enum FinetuningMethodBinding {
    static func table(_ box: InstanceBox) throws -> UnsafePointer<factory_instance_t> {
        let method = try component(of: box, as: (any FinetuningMethodPlugin).self)
        let declared = method.info
        let info = box.memory.block(factory_finetuning_method_info_t.self)
        info.pointee = factory_finetuning_method_info_t(
            struct_size: UInt32(MemoryLayout<factory_finetuning_method_info_t>.size), trains_base: declared.trainsBase,
            quantized_base_ok: declared.quantizedBaseOK, adapter_format: box.memory.string(declared.adapterFormat))
        box.info = UnsafeRawPointer(info)
        return box.makeTable(factory_finetuning_method_t.self) { t in
            t.pointee.info = { selfPtr in declaredInfo(selfPtr, as: factory_finetuning_method_info_t.self) }
            t.pointee.plan = { selfPtr, model, modelLen, out, err in
                reportingErrors(err) {
                    let method = try component(selfPtr, as: (any FinetuningMethodPlugin).self)
                    try write(try method.plan(model: try parseJSON(model, modelLen, "model description")).serialized(), to: out)
                }
            }
            t.pointee.linear = { selfPtr, name, x, out, err in
                reportingErrors(err) {
                    let method = try component(selfPtr, as: (any FinetuningMethodPlugin).self)
                    guard let name, let x, let out else { throw PluginError.invalidArgument("linear: NULL argument") }
                    out.pointee = try method.linear(String(cString: name), HostTensor(x)).handle
                }
            }
        }
    }
}
