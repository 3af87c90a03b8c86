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
    /// The running training micro-batch's seed (ABI 1.3 training_seed), nil outside training or on
    /// an older host: dropout happens only when it is set, and derives its masks from it.
    public static var trainingSeed: UInt64? {
        guard let api = Host.api, Host.has(\.training_seed), let f = api.pointee.training_seed else { return nil }
        let seed = f()
        return seed == 0 ? nil : seed
    }

    public static var isRecording: Bool {
        guard let f = Host.api?.pointee.grad_enabled else { return false }
        let was = f(true)
        _ = f(was)
        return was
    }
}

/// The Swift closure behind a checkpointed block, owned by the host until it calls release.
final class CheckpointBlock {
    let body: (HostTensor) throws -> HostTensor
    let kept: [HostTensor]
    init(_ body: @escaping (HostTensor) throws -> HostTensor, kept: [HostTensor]) {
        self.body = body
        self.kept = kept
    }
    deinit { for t in kept { Engine.release(t) } }
}

extension Engine {
    /// Runs `body(x)` as a checkpointed block (ABI 1.2): the host keeps no activations inside it
    /// and re-runs it during backward. On an older host it is a plain scope. Tensors the body reads
    /// besides `x` (a mask) must outlive the forward call: retain them (Engine.retain), let the body
    /// capture those retained handles, and pass them in `keeping` — the block takes them over and
    /// releases them when the host lets the block go (after backward, or with the graph).
    public static func checkpoint(_ x: HostTensor, keeping: [HostTensor] = [],
                                  _ body: @escaping (HostTensor) throws -> HostTensor) throws -> HostTensor {
        guard let api = Host.api, Host.has(\.checkpoint), let f = api.pointee.checkpoint else {
            defer { for t in keeping { release(t) } }
            return try scope { try body(x) }
        }
        let kept = keeping
        let userdata = Unmanaged.passRetained(CheckpointBlock(body, kept: kept)).toOpaque()
        let fn: factory_checkpoint_fn = { userdata, input, output, err in
            reportingErrors(err) {
                guard let userdata, let input, let output else { throw PluginError.invalidArgument("checkpoint block: NULL argument") }
                let block = Unmanaged<CheckpointBlock>.fromOpaque(userdata).takeUnretainedValue()
                output.pointee = try block.body(HostTensor(input)).handle
            }
        }
        return try result(f(fn, userdata, { Unmanaged<CheckpointBlock>.fromOpaque($0!).release() }, x.handle, err), "checkpoint")
    }
}
