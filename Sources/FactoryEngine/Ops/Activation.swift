import CRowKernels
#if canImport(Glibc)
import Glibc
#endif

// SiLU, GELU (tanh approximation and exact erf), SwiGLU: forward and backward side by side.

/// silu(x) = x · σ(x).
public func silu(_ x: Tensor) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data
    parallelFor(out.count) { r in
        if RowKernels.usesWide { return frk_silu(p + r.lowerBound, o + r.lowerBound, r.count) }
        map8(p, o, r) { $0 * sigmoid8($0) }
    }
    return out.recorded("silu", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape), p = src.data
        parallelFor(dx.count) { r in
            if RowKernels.usesWide { return frk_silu_backward(p + r.lowerBound, gc.data + r.lowerBound, dx.data + r.lowerBound, r.count) }
            map8(p, gc.data, dx.data, r) { x, g in
                let s = sigmoid8(x)
                return g * s * (1 + x * (1 - s))
            }
        }
        return [dx]
    }
}

/// swiglu(gate, up) = silu(gate) · up, fused (LLaMA's MLP).
public func swiglu(_ gate: Tensor, _ up: Tensor) -> Tensor {
    if let problem = ShapeRules.swiglu(gate: gate.shape, up: up.shape) { preconditionFailure(problem) }
    let a = gate.contiguous(), b = up.contiguous()
    let out = Tensor(shape: gate.shape)
    let pa = a.data, pb = b.data, o = out.data
    parallelFor(out.count) { r in
        if RowKernels.usesWide { return frk_swiglu(pa + r.lowerBound, pb + r.lowerBound, o + r.lowerBound, r.count) }
        map8(pa, pb, o, r) { g, u in g * sigmoid8(g) * u }
    }
    return out.recorded("swiglu", [a, b]) { g in
        let gc = g.contiguous(), pa = a.data, pb = b.data
        let da = Tensor(shape: a.shape), db = Tensor(shape: b.shape)
        parallelFor(da.count) { r in
            if RowKernels.usesWide {
                let i = r.lowerBound
                return frk_swiglu_backward(pa + i, pb + i, gc.data + i, da.data + i, db.data + i, r.count)
            }
            map8(pa, pb, gc.data, da.data, r) { x, u, g in
                let s = sigmoid8(x)
                return g * u * s * (1 + x * (1 - s))
            }
            map8(pa, gc.data, db.data, r) { x, g in g * x * sigmoid8(x) }
        }
        return [da, db]
    }
}

/// GELU with the tanh approximation ("gelu_pytorch_tanh", "gelu_new").
public func geluTanh(_ x: Tensor) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data
    let c = F8(repeating: 0.7978845608028654), k = F8(repeating: 0.044715)
    parallelFor(out.count) { r in
        // 0.5·x·(1 + tanh u) = x·σ(2u): no cancellation for large negative x.
        map8(p, o, r) { x in
            let u: F8 = c * (x + k * x * x * x)
            return x * sigmoid8(u + u)
        }
    }
    return out.recorded("gelu_tanh", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape), p = src.data
        parallelFor(dx.count) { r in
            map8(p, gc.data, dx.data, r) { x, g in
                // d/dx x·σ(2u) = σ(2u) + x·2σ(2u)(1−σ(2u))·u'
                let x2: F8 = x * x
                let u: F8 = c * (x + k * x2 * x)
                let s: F8 = sigmoid8(u + u)
                let slope: F8 = c * (1 + 3 * k * x2)
                let right: F8 = 2 * x * s * (1 - s) * slope
                return g * (s + right)
            }
        }
        return [dx]
    }
}

/// Exact GELU: x · Φ(x) = 0.5 x (1 + erf(x/√2)).
public func geluErf(_ x: Tensor) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data
    // 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2): no cancellation for large negative x.
    parallelFor(out.count) { r in for i in r { o[i] = 0.5 * p[i] * erfcf(-p[i] * 0.70710678118654752) } }
    return out.recorded("gelu_erf", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape), p = src.data
        let gp = gc.data, d = dx.data
        parallelFor(dx.count) { r in
            for i in r {
                let x = p[i]
                d[i] = gp[i] * (0.5 * erfcf(-x * 0.70710678118654752) + x * expf(-0.5 * x * x) * 0.3989422804014327)
            }
        }
        return [dx]
    }
}

/// Gemma 2's soft cap: cap · tanh(x / cap), squashing x into (−cap, cap); d/dx = 1 − tanh²(x / cap).
public func softcap(_ x: Tensor, cap: Float) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(shape: x.shape)
    let p = src.data, o = out.data, c = F8(repeating: cap), inverse = F8(repeating: 1 / cap)
    parallelFor(out.count) { r in map8(p, o, r) { c * tanh8($0 * inverse) } }
    return out.recorded("softcap", [src]) { g in
        let gc = g.contiguous(), dx = Tensor(shape: src.shape), y = out.data
        parallelFor(dx.count) { r in
            map8(y, gc.data, dx.data, r) { y, g in
                let t: F8 = y * inverse
                return g * (1 - t * t)
            }
        }
        return [dx]
    }
}
