import CFactoryABI

/// ABI 1.2: the host calls a fine-tuning method builds its linear from.
extension Engine {
    static func trainingAPI() throws -> factory_host_api_t {
        guard let api = Host.api, Host.has(\.linear_base) else { throw PluginError.unsupported("the host has no training calls (ABI < 1.2)") }
        return api.pointee
    }

    /// The running model's parameter `name`, or nil when it has none.
    public static func parameter(_ name: String) throws -> HostTensor? {
        try trainingAPI().param_get!(name, err).map(HostTensor.init)
    }

    /// x · wᵀ (+ bias) with explicit tensors.
    public static func linear(_ x: HostTensor, weight w: HostTensor, bias: HostTensor? = nil) throws -> HostTensor {
        try result(try trainingAPI().linear_with!(x.handle, w.handle, bias?.handle, err), "linear_with")
    }

    /// The base model's own linear for `name`, bypassing the fine-tuning method.
    public static func baseLinear(_ name: String, _ x: HostTensor) throws -> HostTensor {
        try result(try trainingAPI().linear_base!(name, x.handle, err), "linear_base \(name)")
    }

    /// Inverted dropout with probability `p` (identity when not training or p = 0), seeded.
    public static func dropout(_ x: HostTensor, _ p: Float, seed: UInt64) throws -> HostTensor {
        try result(api().dropout!(x.handle, p, seed, err), "dropout")
    }
}

extension Engine {
    /// Whether the host is recording a training step (grad mode on): dropout applies only then.
    public static var isRecording: Bool {
        guard let f = Host.api?.pointee.grad_enabled else { return false }
        let was = f(true)
        _ = f(was)
        return was
    }
}
