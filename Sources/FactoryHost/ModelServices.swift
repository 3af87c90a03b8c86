import CFactoryABI
import FactoryEngine
#if canImport(Glibc)
import Glibc
#endif

/// What load_weights reads from: the open checkpoint's tensors by file name.
public protocol CheckpointSource: AnyObject {
    /// "gguf" or "safetensors".
    var format: String { get }
    /// The named tensor as fp32 in row-major (file) order, or nil when absent.
    func tensor(_ name: String) throws -> Tensor?
}

/// The model-loading half of the host table (1.1).
public enum ModelServices {
    /// The weights the model family in the current ExecutionContext is loading from, while it loads.
    static var checkpoint: CheckpointSource? {
        get { ExecutionContext.current.loadingSource as? CheckpointSource }
        set { ExecutionContext.current.loadingSource = newValue }
    }

    /// Named intermediates reported through observe() while `capturing` is on (the current
    /// ExecutionContext's `observed`).
    public static var capturing: Bool {
        get { ExecutionContext.current.observed != nil }
        set { ExecutionContext.current.observed = newValue ? (ExecutionContext.current.observed ?? [:]) : nil }
    }
    public static var captured: [String: Tensor] {
        get { ExecutionContext.current.observed ?? [:] }
        set { if capturing { ExecutionContext.current.observed = newValue } }
    }

    static func install(_ t: inout factory_host_api_t) {
        t.observe = { name, p in
            guard ModelServices.capturing, let name, let x = try? TensorHandles.tensor(p) else { return }
            ExecutionContext.current.observed?[String(cString: name)] = x.contiguousCopy()
        }
        t.checkpoint_tensor = { name, err in
            guard let name else { report(err, EngineCallError("checkpoint_tensor: name is NULL")); return nil }
            guard let source = ModelServices.checkpoint else {
                report(err, EngineCallError("checkpoint_tensor: no checkpoint is being loaded (call it from load_weights)"))
                return nil
            }
            do {
                return try source.tensor(String(cString: name)).map { TensorHandles.scoped($0) }
            } catch {
                report(err, EngineCallError("\(error)", status: FACTORY_ERR_IO))
                return nil
            }
        }
        t.checkpoint_format = {
            switch ModelServices.checkpoint?.format {
            case "gguf": return ModelServices.gguf
            case "safetensors": return ModelServices.safetensors
            default: return ModelServices.none
            }
        }
        t.kv_cache_update = { cache, layer, k, v, kAll, vAll, err in
            engineCall(err) {
                guard let cache else { throw EngineCallError("kv_cache_update: cache is NULL") }
                guard let kAll, let vAll else { throw EngineCallError("kv_cache_update: output pointers are NULL") }
                guard let c = Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(cache)).takeUnretainedValue() as? KeyValueStore else {
                    throw EngineCallError("kv_cache_update: not a cache the host handed out")
                }
                let (ka, va) = try c.append(layer: Int(layer), k: try TensorHandles.tensor(k, "k"), v: try TensorHandles.tensor(v, "v"))
                kAll.pointee = TensorHandles.scoped(ka)
                vAll.pointee = TensorHandles.scoped(va)
            }
        }
    }

    static let gguf: UnsafePointer<CChar> = UnsafePointer(strdup("gguf"))
    static let safetensors: UnsafePointer<CChar> = UnsafePointer(strdup("safetensors"))
    static let none: UnsafePointer<CChar> = UnsafePointer(strdup(""))
}
