import CFactoryABI
import FactoryEngine

/// ABI 1.2: what a fine-tuning method needs from the host — the running model's parameters,
/// a linear over explicit tensors, and the base model's own linear.
enum TrainingServices {
    static func install(_ t: inout factory_host_api_t) {
        t.param_get = { name, err in
            guard let name else { report(err, EngineCallError("param_get: name is NULL")); return nil }
            guard let p = ParameterStore.active[String(cString: name)] else { return nil }
            return TensorHandles.scoped(p)
        }
        t.linear_with = { x, w, bias, err in
            engineOp(err) {
                let xt = try TensorHandles.tensor(x, "linear_with: x"), wt = try TensorHandles.tensor(w, "linear_with: w")
                let b = try bias.map { try TensorHandles.tensor($0, "linear_with: bias") }
                try needShape(ShapeRules.linear(x: xt.shape, weight: wt.shape, bias: b?.shape))
                return linear(xt, wt, bias: b)
            }
        }
        t.checkpoint = { fn, userdata, release, input, err in
            engineOp(err) {
                guard let fn else { throw EngineCallError("checkpoint: fn is NULL") }
                let block = PluginBlock(fn: fn, userdata: userdata, release: release)
                return try FactoryEngine.checkpoint(try TensorHandles.tensor(input, "checkpoint: input")) { x in try block.run(x) }
            }
        }
        t.linear_base = { name, x, err in
            engineOp(err) {
                guard let name else { throw EngineCallError("linear_base: name is NULL") }
                do { return try EngineHooks.baseLinear(String(cString: name), try TensorHandles.tensor(x)) } catch let e as HookError {
                    throw EngineCallError(e.message)
                }
            }
        }
    }
}

/// A plugin's checkpointed block: calls fn in a scope of its own; releases the plugin's
/// userdata when the graph no longer holds the block.
final class PluginBlock {
    let fn: factory_checkpoint_fn
    let userdata: UnsafeMutableRawPointer?
    let release: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?

    init(fn: factory_checkpoint_fn, userdata: UnsafeMutableRawPointer?, release: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.fn = fn
        self.userdata = userdata
        self.release = release
    }

    deinit { release?(userdata) }

    func run(_ x: Tensor) throws -> Tensor {
        TensorHandles.push()
        defer { TensorHandles.pop() }
        let handle = TensorHandles.scoped(x)
        var out: OpaquePointer?
        let (status, slot) = ErrorSlot.capture { err in fn(userdata, handle, &out, err) }
        guard status == FACTORY_OK.rawValue else { throw EngineCallError(slot.describe(status: status)) }
        return try TensorHandles.tensor(out, "checkpoint block's output")
    }
}
