import CFactoryABI
import FactoryEngine

/// AdamW for plugins: `factory_optimizer_t *` is a retained AdamW.
enum OptimizerServices {
    static func optimizer(_ p: OpaquePointer?) throws -> AdamW {
        guard let p else { throw EngineCallError("optimizer is NULL") }
        return Unmanaged<AdamW>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    static func install(_ t: inout factory_host_api_t) {
        t.optimizer_new = { lr, b1, b2, eps, err in
            guard lr >= 0, b1 >= 0, b1 < 1, b2 >= 0, b2 < 1, eps >= 0 else {
                report(err, EngineCallError("optimizer_new: lr \(lr), betas (\(b1), \(b2)), eps \(eps) out of range"))
                return nil
            }
            return OpaquePointer(Unmanaged.passRetained(AdamW(lr: lr, betas: (b1, b2), eps: eps)).toOpaque())
        }
        t.optimizer_add = { opt, tensor, wd, scale, err in
            engineCall(err) {
                let o = try OptimizerServices.optimizer(opt), x = try TensorHandles.tensor(tensor)
                try need(x.requiresGrad, "optimizer_add: the tensor is not trainable (mark_trainable first)")
                try need(x.isContiguous, "optimizer_add: the tensor is a view")
                o.add(x, lrScale: scale, weightDecay: wd)
            }
        }
        t.optimizer_step = { opt, lr, err in
            engineCall(err) {
                let o = try OptimizerServices.optimizer(opt)
                try need(lr >= 0, "optimizer_step: negative learning rate \(lr)")
                o.lr = lr
                o.step()
            }
        }
        t.optimizer_zero_grad = { opt in (try? OptimizerServices.optimizer(opt))?.zeroGrad() }
        t.optimizer_clip_grad_norm = { opt, maxNorm in
            guard let o = try? OptimizerServices.optimizer(opt) else { return -1 }
            return clipGradNorm(o.parameters.map(\.tensor), maxNorm: maxNorm)
        }
        t.optimizer_free = { opt in if let opt { Unmanaged<AdamW>.fromOpaque(UnsafeRawPointer(opt)).release() } }
    }
}
