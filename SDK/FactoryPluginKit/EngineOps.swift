import CFactoryABI

// The rest of the host table's graph-building ops, for a family (or any plugin) that needs more
// than the Llama-style blocks use: reductions, shape ops, other norms and activations, softmax and
// cross-entropy, and autograd calls. Each wraps one table entry of the same name (host.h); each
// throws HostCallFailed with the host's message when the host refuses the call.
extension Engine {
    /// The sum of every element: a one-element tensor.
    public static func sum(_ x: HostTensor) throws -> HostTensor { try result(api().sum!(x.handle, err), "sum") }
    /// The mean of every element: a one-element tensor.
    public static func mean(_ x: HostTensor) throws -> HostTensor { try result(api().mean!(x.handle, err), "mean") }
    /// The sum along `axis` (negative counts from the end), keeping it as size 1 when `keepDim`.
    public static func sum(_ x: HostTensor, axis: Int, keepDim: Bool = false) throws -> HostTensor {
        try result(api().sum_axis!(x.handle, Int32(axis), keepDim, err), "sum_axis")
    }
    /// A view with axes `a` and `b` swapped.
    public static func transpose(_ x: HostTensor, _ a: Int, _ b: Int) throws -> HostTensor {
        try result(api().transpose!(x.handle, Int32(a), Int32(b), err), "transpose")
    }
    /// `length` entries of `axis` from `start` (negative axis counts from the end): a fused projection's part.
    public static func slice(_ x: HostTensor, axis: Int, start: Int, length: Int) throws -> HostTensor {
        try result(api().slice!(x.handle, Int32(axis), Int64(start), Int64(length), err), "slice")
    }
    /// `xs` joined along `axis`.
    public static func concat(_ xs: [HostTensor], axis: Int) throws -> HostTensor {
        let handles: [OpaquePointer?] = xs.map(\.handle)
        let f = try api().concat!
        return try result(handles.withUnsafeBufferPointer { f($0.baseAddress, Int32(xs.count), Int32(axis), err) }, "concat")
    }
    /// LayerNorm over the last axis: (x − mean) / √(var + eps) · weight + bias (bias optional).
    public static func layerNorm(_ x: HostTensor, _ weight: HostTensor, bias: HostTensor?, eps: Float) throws -> HostTensor {
        try result(api().layer_norm!(x.handle, weight.handle, bias?.handle, eps, err), "layer_norm")
    }
    /// Exact GELU: x · Φ(x).
    public static func geluErf(_ x: HostTensor) throws -> HostTensor { try result(api().gelu_erf!(x.handle, err), "gelu_erf") }
    /// Softmax over the last axis.
    public static func softmax(_ x: HostTensor) throws -> HostTensor { try result(api().softmax!(x.handle, err), "softmax") }
    /// Log-softmax over the last axis.
    public static func logSoftmax(_ x: HostTensor) throws -> HostTensor { try result(api().log_softmax!(x.handle, err), "log_softmax") }
    /// Mean cross-entropy of logits [N, V] against N labels (-100: ignored): a one-element tensor.
    public static func crossEntropy(_ logits: HostTensor, labels: [Int]) throws -> HostTensor {
        let l = labels.map(Int64.init)
        let f = try api().cross_entropy!
        return try result(l.withUnsafeBufferPointer { f(logits.handle, $0.baseAddress, Int64(l.count), err) }, "cross_entropy")
    }
    /// Back-propagates from a one-element `loss`; leaf gradients accumulate.
    public static func backward(_ loss: HostTensor) throws {
        guard try api().backward!(loss.handle, err) == FACTORY_OK.rawValue else { throw HostCallFailed(call: "backward") }
    }
    /// The gradient of `t` (nil before backward or when `t` is not trainable).
    public static func grad(_ t: HostTensor) throws -> HostTensor? { try api().tensor_grad!(t.handle).map(HostTensor.init) }
    /// Clears the gradient of `t`.
    public static func zeroGrad(_ t: HostTensor) throws { try api().zero_grad!(t.handle) }
    /// True once the user asked the run to stop: a long plugin call should return early.
    public static func isCancelled() -> Bool { Host.api?.pointee.is_cancelled?() ?? false }
}
