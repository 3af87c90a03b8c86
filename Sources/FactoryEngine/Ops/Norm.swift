import CRowKernels

// RMSNorm (LLaMA: x · rsqrt(mean(x²) + eps) · w, computed in fp32 in that order)
// and LayerNorm (biased variance), over the last dimension.

/// RMSNorm over the last dimension; `weight` has shape [D].
public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
    let D = x.shape[x.rank - 1]
    if let problem = ShapeRules.lastDimension("rms_norm", x: x.shape, weight: weight.shape) { preconditionFailure(problem) }
    let src = x.contiguous(), w = weight.contiguous()
    let rows = src.count / max(D, 1)
    let out = Tensor(shape: x.shape)
    let rstd = Tensor(shape: [rows])
    let p = src.data, o = out.data, wp = w.data, rp = rstd.data
    parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
        for row in rr {
            let xr = p + row * D
            if RowKernels.usesWide {
                rp[row] = frk_rms_norm_row(xr, wp, eps, o + row * D, D)
                continue
            }
            let ms = sum8(xr, 0..<D) { $0 * $0 } / Float(D)
            let r = 1 / (ms + eps).squareRoot()
            rp[row] = r
            let rv = F8(repeating: r)
            map8(xr, wp, o + row * D, 0..<D) { x, w in (x * rv) * w }
        }
    }
    return out.recorded("rms_norm", [src, w]) { g in
        let gc = g.contiguous()
        let gp = gc.data, rp = rstd.data, p = src.data, wp = w.data
        var dx: Tensor?
        if src.requiresGrad {
            let d = Tensor(shape: src.shape)
            let dp = d.data
            parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
                for row in rr {
                    let xr = p + row * D, gr = gp + row * D, r = rp[row]
                    if RowKernels.usesWide {
                        frk_rms_norm_backward_row(gr, wp, xr, r, dp + row * D, D)
                        continue
                    }
                    // dot = Σ (g·w)·x̂ / D
                    var acc = F8()
                    var i = 0
                    while i + 8 <= D { acc += load8(gr + i) * load8(wp + i) * load8(xr + i); i += 8 }
                    var dot = acc.sum()
                    while i < D { dot += gr[i] * wp[i] * xr[i]; i += 1 }
                    let c = F8(repeating: dot * r * r / Float(D)), rv = F8(repeating: r)
                    map8(gr, wp, xr, dp + row * D, 0..<D) { g, w, x in rv * (g * w - x * c) }
                }
            }
            dx = d
        }
        var dw: Tensor?
        if w.requiresGrad {
            let d = Tensor(shape: [D], zeroed: true)
            let dp = d.data
            for row in 0..<rows {
                if RowKernels.usesWide {
                    frk_rms_norm_weight_grad_row(gp + row * D, p + row * D, rp[row], dp, D)
                    continue
                }
                let rv = F8(repeating: rp[row])
                map8(dp, gp + row * D, p + row * D, dp, 0..<D) { acc, g, x in acc + g * x * rv }
            }
            dw = d
        }
        return [dx, dw]
    }
}

/// LayerNorm over the last dimension with weight and bias of shape [D].
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let D = x.shape[x.rank - 1]
    if let problem = ShapeRules.lastDimension("layer_norm", x: x.shape, weight: weight.shape)
        ?? ShapeRules.lastDimension("layer_norm bias", x: x.shape, weight: bias.shape) { preconditionFailure(problem) }
    let src = x.contiguous(), w = weight.contiguous(), b = bias.contiguous()
    let rows = src.count / max(D, 1)
    let out = Tensor(shape: x.shape)
    let xhat = Tensor(shape: x.shape), rstd = Tensor(shape: [rows])
    let p = src.data, o = out.data, h = xhat.data, rp = rstd.data, wp = w.data, bp = b.data
    parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
        for row in rr {
            let xr = p + row * D
            let mu = sum8(xr, 0..<D) { $0 } / Float(D)
            let mv = F8(repeating: mu)
            let variance = sum8(xr, 0..<D) { ($0 - mv) * ($0 - mv) } / Float(D)
            let r = 1 / (variance + eps).squareRoot()
            rp[row] = r
            let rv = F8(repeating: r)
            map8(xr, h + row * D, 0..<D) { ($0 - mv) * rv }
            map8(h + row * D, wp, bp, o + row * D, 0..<D) { xh, w, b in xh * w + b }
        }
    }
    return out.recorded("layer_norm", [src, w, b]) { g in
        let gc = g.contiguous()
        let gp = gc.data, h = xhat.data, rp = rstd.data, wp = w.data
        let dx = Tensor(shape: src.shape), dw = Tensor(shape: [D], zeroed: true), db = Tensor(shape: [D], zeroed: true)
        let dxp = dx.data, dwp = dw.data, dbp = db.data
        parallelFor(rows, grain: max(1, 8192 / max(D, 1))) { rr in
            for row in rr {
                let gr = gp + row * D, hr = h + row * D
                var s1: Float = 0, s2: Float = 0
                for i in 0..<D { let gw = gr[i] * wp[i]; s1 += gw; s2 += gw * hr[i] }
                let m1 = s1 / Float(D), m2 = s2 / Float(D), r = rp[row]
                for i in 0..<D { dxp[row * D + i] = r * (gr[i] * wp[i] - m1 - hr[i] * m2) }
            }
        }
        for row in 0..<rows {
            for i in 0..<D {
                dwp[i] += gp[row * D + i] * h[row * D + i]
                dbp[i] += gp[row * D + i]
            }
        }
        return [dx, dw, db]
    }
}
