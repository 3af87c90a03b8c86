import CFactoryABI

/// A tensor handle from the host (a scope handle unless retained).
public struct HostTensor {
    public let handle: OpaquePointer
    public init(_ handle: OpaquePointer) { self.handle = handle }

}

/// The host's engine (ABI 1.1) for Swift plugins: each call reports failures into
/// the error slot of the host call being served and throws HostCallFailed.
public enum Engine {
    static var err: OpaquePointer? { Host.currentError }

    /// The host table, or an error when the host predates the engine.
    static func api() throws -> factory_host_api_t {
        guard let api = Host.api, Host.has(\.observe) else { throw PluginError.unsupported("the host has no engine (ABI < 1.1)") }
        return api.pointee
    }

    @inline(__always)
    static func result(_ p: OpaquePointer?, _ call: String) throws -> HostTensor {
        guard let p else { throw HostCallFailed(call: call) }
        return HostTensor(p)
    }

    public static func new(_ shape: [Int], _ values: [Float]? = nil) throws -> HostTensor {
        let dims = shape.map(Int64.init)
        let f = try api().tensor_new!
        return try result(dims.withUnsafeBufferPointer { d in
            if let values { return values.withUnsafeBufferPointer { f(d.baseAddress, Int32(dims.count), $0.baseAddress, err) } }
            return f(d.baseAddress, Int32(dims.count), nil, err)
        }, "tensor_new")
    }

    public static func shape(_ t: HostTensor) throws -> [Int] {
        let a = try api()
        let rank = Int(a.tensor_rank!(t.handle))
        return (0..<rank).map { Int(a.tensor_dim!(t.handle, Int32($0))) }
    }

    public static func retain(_ t: HostTensor) throws -> HostTensor { try result(api().tensor_retain!(t.handle), "tensor_retain") }

    /// Runs `body` in its own host scope so its intermediate tensors are released at its end (a
    /// decoder layer, say, or a loop that would otherwise pile them up). A HostTensor result lives on
    /// in the caller's scope; any other result (Void, a number) must hold no handle made inside.
    /// One generic function, so a multi-statement closure needs no type annotation.
    public static func scope<Result>(_ body: () throws -> Result) throws -> Result {
        let a = try api()
        a.scope_push!()
        let result: Result, kept: HostTensor?
        do {
            result = try body()
            kept = try (result as? HostTensor).map(retain)
        } catch {
            a.scope_pop!()
            throw error
        }
        a.scope_pop!()
        guard let kept else { return result }
        defer { release(kept) }
        // A same-shape reshape is a view: it gives the caller's scope its own handle.
        guard let handed = try reshape(kept, try shape(kept)) as? Result else { return result }
        return handed
    }
    public static func release(_ t: HostTensor) { Host.api?.pointee.tensor_release?(t.handle) }

    public static func register(_ name: String, _ t: HostTensor) throws {
        guard try api().param_register!(name, t.handle, err) == FACTORY_OK.rawValue else { throw HostCallFailed(call: "param_register") }
    }

    /// A checkpoint tensor by its name in the file, or nil when absent.
    public static func checkpointTensor(_ name: String) throws -> HostTensor? {
        let a = try api()
        if let p = a.checkpoint_tensor!(name, err) { return HostTensor(p) }
        return nil
    }

    /// "gguf" or "safetensors" during load_weights.
    public static func checkpointFormat() throws -> String { try api().checkpoint_format!().map { String(cString: $0) } ?? "" }

    public static func add(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor { try result(api().add!(a.handle, b.handle, err), "add") }
    public static func mul(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor { try result(api().mul!(a.handle, b.handle, err), "mul") }
    public static func sub(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor { try result(api().sub!(a.handle, b.handle, err), "sub") }
    public static func div(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor { try result(api().div!(a.handle, b.handle, err), "div") }
    public static func addScalar(_ x: HostTensor, _ s: Float) throws -> HostTensor { try result(api().add_scalar!(x.handle, s, err), "add_scalar") }

    /// The elements of `t` in row-major order (a copy).
    public static func values(_ t: HostTensor) throws -> [Float] {
        let n = Int(try api().tensor_count!(t.handle))
        var out = [Float](repeating: 0, count: n)
        let status = try out.withUnsafeMutableBufferPointer { try api().tensor_read!(t.handle, $0.baseAddress, UInt64(n), err) }
        guard status == FACTORY_OK.rawValue else { throw HostCallFailed(call: "tensor_read") }
        return out
    }

    /// Runs `body` without recording gradients (torch.no_grad), then restores the previous setting.
    public static func withoutGrad<T>(_ body: () throws -> T) throws -> T {
        let f = try api().grad_enabled!
        let previous = f(false)
        defer { _ = f(previous) }
        return try body()
    }
    public static func scale(_ x: HostTensor, _ s: Float) throws -> HostTensor { try result(api().scale!(x.handle, s, err), "scale") }
    public static func matmul(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor { try result(api().matmul!(a.handle, b.handle, err), "matmul") }
    public static func contiguous(_ x: HostTensor) throws -> HostTensor { try result(api().contiguous!(x.handle, err), "contiguous") }
    public static func silu(_ x: HostTensor) throws -> HostTensor { try result(api().silu!(x.handle, err), "silu") }
    public static func geluTanh(_ x: HostTensor) throws -> HostTensor { try result(api().gelu_tanh!(x.handle, err), "gelu_tanh") }
    public static func swiglu(_ g: HostTensor, _ u: HostTensor) throws -> HostTensor { try result(api().swiglu!(g.handle, u.handle, err), "swiglu") }

    public static func reshape(_ x: HostTensor, _ shape: [Int]) throws -> HostTensor {
        let dims = shape.map(Int64.init)
        let f = try api().reshape!
        return try result(dims.withUnsafeBufferPointer { f(x.handle, $0.baseAddress, Int32(dims.count), err) }, "reshape")
    }

    public static func permute(_ x: HostTensor, _ order: [Int]) throws -> HostTensor {
        let o = order.map(Int32.init)
        let f = try api().permute!
        return try result(o.withUnsafeBufferPointer { f(x.handle, $0.baseAddress, Int32(o.count), err) }, "permute")
    }

    public static func embedding(_ w: HostTensor, ids: [Int]) throws -> HostTensor {
        let i = ids.map(Int64.init)
        let f = try api().embedding!
        return try result(i.withUnsafeBufferPointer { f(w.handle, $0.baseAddress, Int64(i.count), err) }, "embedding")
    }

    public static func rmsNorm(_ x: HostTensor, _ w: HostTensor, eps: Float) throws -> HostTensor {
        try result(api().rms_norm!(x.handle, w.handle, eps, err), "rms_norm")
    }

    public static func rope(_ x: HostTensor, positions: [Int], invFreq: [Float], attentionScaling: Float = 1) throws -> HostTensor {
        let p = positions.map(Int64.init)
        let f = try api().rope!
        return try result(p.withUnsafeBufferPointer { pp in
            invFreq.withUnsafeBufferPointer { f(x.handle, pp.baseAddress, Int64(p.count), $0.baseAddress, Int32(invFreq.count), attentionScaling, err) }
        }, "rope")
    }

    public static func linear(_ name: String, _ x: HostTensor) throws -> HostTensor { try result(api().linear!(name, x.handle, err), "linear \(name)") }

    /// linear(name, x) for each name, in order: one host call (ABI 1.11 linears) that the host may run as
    /// one product (a quantized base's decoding), or one `linear` call each on an older host.
    public static func linears(_ names: [String], _ x: HostTensor) throws -> [HostTensor] {
        let table = try api()
        guard names.count > 1, Host.has(\.linears), let f = table.linears else { return try names.map { try linear($0, x) } }
        var out = [OpaquePointer?](repeating: nil, count: names.count)
        var bytes: [CChar] = [], starts: [Int] = []
        for name in names {
            starts.append(bytes.count)
            bytes += name.utf8CString
        }
        let status = bytes.withUnsafeBufferPointer { b in
            starts.map { Optional(b.baseAddress! + $0) }.withUnsafeBufferPointer { n in
                out.withUnsafeMutableBufferPointer { f(n.baseAddress, Int32(names.count), x.handle, $0.baseAddress, err) }
            }
        }
        guard status == FACTORY_OK.rawValue else { throw HostCallFailed(call: "linears \(names.joined(separator: ", "))") }
        return try out.map { try result($0, "linears") }
    }

    public static func attention(_ q: HostTensor, _ k: HostTensor, _ v: HostTensor, mask: HostTensor?, scale: Float, causal: Bool = true,
                                 slidingWindow: Int = 0, softcap: Float = 0) throws -> HostTensor {
        var p = factory_attention_params_t(struct_size: UInt32(MemoryLayout<factory_attention_params_t>.size), scale: scale, causal: causal,
                                           sliding_window: Int32(slidingWindow), softcap: softcap)
        let f = try api().attention!
        return try result(f(q.handle, k.handle, v.handle, mask?.handle, &p, err), "attention")
    }

    /// Reports an intermediate tensor to the host (kept only while the host captures).
    public static func observe(_ name: String, _ t: HostTensor) {
        guard let api = Host.api, Host.has(\.observe), let f = api.pointee.observe else { return }
        f(name, t.handle)
    }

    /// Appends this step's keys and values to `layer` of the host's cache; returns all of them so far.
    public static func kvCacheUpdate(_ cache: OpaquePointer, layer: Int, k: HostTensor, v: HostTensor) throws -> (HostTensor, HostTensor) {
        var kAll: OpaquePointer?, vAll: OpaquePointer?
        guard try api().kv_cache_update!(cache, Int32(layer), k.handle, v.handle, &kAll, &vAll, err) == FACTORY_OK.rawValue,
              let kAll, let vAll else { throw HostCallFailed(call: "kv_cache_update") }
        return (HostTensor(kAll), HostTensor(vAll))
    }
}
