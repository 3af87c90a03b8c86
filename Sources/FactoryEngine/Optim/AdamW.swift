// AdamW exactly as torch.optim.AdamW's single-tensor CPU path (t = step, 1-based):
//   p.mul_(1 - lr·wd)                          (decoupled weight decay)
//   m.lerp_(g, 1-β1);  v.mul_(β2).addcmul_(g, g, value=1-β2)
//   step_size = lr / (1-β1^t)                  (double)
//   denom = sqrt(v) / sqrt(1-β2^t) + eps       (eps after the bias-corrected sqrt)
//   p.addcdiv_(m, denom, value=-step_size)

/// One optimised tensor with its Adam moments and a learning-rate multiplier (LoRA+ groups).
public final class OptimizedParameter {
    public let tensor: Tensor
    public var lrScale: Double
    public var weightDecay: Double
    /// Whether this process updates the tensor and keeps its moments (false: another rank of a ZeRO-1 run
    /// does, and sends the updated tensor; its moments are never allocated here).
    public var owned = true
    private(set) lazy var m = Tensor(shape: tensor.shape, zeroed: true)
    private(set) lazy var v = Tensor(shape: tensor.shape, zeroed: true)

    init(_ tensor: Tensor, lrScale: Double, weightDecay: Double) {
        self.tensor = tensor
        self.lrScale = lrScale
        self.weightDecay = weightDecay
    }

    /// The first and second moments (for checkpoints), allocated (zero) on first use.
    public var moments: (m: Tensor, v: Tensor) { (m, v) }
}

/// torch.optim.AdamW.
public final class AdamW {
    public var lr: Double
    public let beta1: Double, beta2: Double, eps: Double
    public private(set) var parameters: [OptimizedParameter] = []
    /// Optimizer steps taken (torch's `step` state).
    public var stepCount = 0

    public init(lr: Double, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8) {
        self.lr = lr
        beta1 = betas.0
        beta2 = betas.1
        self.eps = eps
    }

    /// Adds a parameter (a leaf tensor requiring gradients).
    public func add(_ tensor: Tensor, lrScale: Double = 1, weightDecay: Double = 0) {
        parameters.append(OptimizedParameter(tensor, lrScale: lrScale, weightDecay: weightDecay))
    }

    /// One update of every owned parameter that has a gradient.
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - pow(beta1, t), bc2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let oneMinusB1 = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), e = Float(eps)
        for p in parameters where p.owned {
            guard let grad = p.tensor.grad else { continue }
            let lr = self.lr * p.lrScale
            let decay = Float(1 - lr * p.weightDecay)
            let stepSize = Float(-(lr / bc1)), root = Float(bc2Sqrt)
            let w = p.tensor.data, g = grad.contiguous().data, m = p.m.data, v = p.v.data
            parallelFor(p.tensor.count) { r in
                for i in r {
                    if p.weightDecay != 0 { w[i] *= decay }
                    m[i] = m[i] + oneMinusB1 * (g[i] - m[i])
                    v[i] = v[i] * b2 + oneMinusB2 * (g[i] * g[i])
                    let denom = v[i].squareRoot() / root + e
                    w[i] = w[i] + stepSize * (m[i] / denom)
                }
            }
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.tensor.zeroGrad() }
    }
}

private func pow(_ x: Double, _ y: Double) -> Double {
    var r = 1.0
    var n = Int(y)
    var b = x
    while n > 0 {
        if n & 1 == 1 { r *= b }
        b *= b
        n >>= 1
    }
    return r
}
