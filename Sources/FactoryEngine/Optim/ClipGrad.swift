// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (norm_type 2):
//   total = ‖(‖g₁‖, ‖g₂‖, ...)‖;  coef = max_norm / (total + 1e-6);  g *= min(coef, 1)
// torch multiplies even when coef clamps to 1. max_norm 0 (or less) disables clipping
// in the trainer, as in transformers.

/// Clips the gradients of `tensors` in place and returns the total norm before clipping.
@discardableResult
public func clipGradNorm(_ tensors: [Tensor], maxNorm: Double) -> Double {
    var squares = 0.0
    for t in tensors {
        guard let g = t.grad else { continue }
        let p = g.contiguous().data
        var n: Float = 0
        var acc = F8()
        var i = 0
        while i + 8 <= g.count { let x = load8(p + i); acc += x * x; i += 8 }
        n = acc.sum()
        while i < g.count { n += p[i] * p[i]; i += 1 }
        let norm = n.squareRoot()
        squares += Double(norm) * Double(norm)
    }
    let total = Float(squares.squareRoot())
    let coef = min(Float(maxNorm) / (total + 1e-6), 1)
    for t in tensors {
        guard let g = t.grad else { continue }
        let p = g.data
        parallelFor(g.count) { r in map8(p, p, r) { $0 * F8(repeating: coef) } }
    }
    return Double(total)
}
