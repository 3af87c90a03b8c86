import CFactoryABI
import FactoryEngine

#if canImport(Glibc)
import Glibc
#endif

/// Bytes of physical memory: no single tensor may ask for more.
let physicalMemory = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))

/// The engine half of the host-services table (ABI 1.1): every op as a
/// graph-building call. Each entry validates its arguments and reports a
/// wrong shape as an error instead of reaching an engine precondition.
enum EngineServices {
    static func install(_ t: inout factory_host_api_t) {
        t.scope_push = { TensorHandles.push() }
        t.scope_pop = { TensorHandles.pop() }
        t.tensor_retain = { p in (try? TensorHandles.tensor(p)).map { TensorHandles.owned($0) } }
        t.tensor_release = { p in if let p { TensorHandles.release(p) } }
        t.tensor_new = { shape, rank, data, err in
            engineOp(err) {
                let s = try TensorHandles.shape(shape, rank)
                let bytes = Double(s.reduce(1, *)) * 4
                guard bytes < physicalMemory else {
                    throw EngineCallError("tensor_new: \(s) needs \(Int(bytes / 1e9)) GB, more than this machine's memory", status: FACTORY_ERR_OUT_OF_MEMORY)
                }
                let out = Tensor(shape: s, zeroed: data == nil)
                if let data { out.data.update(from: data, count: out.count) }
                return out
            }
        }
        t.tensor_rank = { p in (try? TensorHandles.tensor(p)).map { Int32($0.rank) } ?? -1 }
        t.tensor_dim = { p, a in
            guard let x = try? TensorHandles.tensor(p), let ax = try? axis(a, rank: x.rank) else { return -1 }
            return Int64(x.shape[ax])
        }
        t.tensor_count = { p in (try? TensorHandles.tensor(p)).map { Int64($0.count) } ?? -1 }
        t.tensor_data = { p in
            guard let x = try? TensorHandles.tensor(p), x.isContiguous else { return nil }
            return x.data
        }
        t.tensor_read = { p, dst, count, err in
            engineCall(err) {
                let x = try TensorHandles.tensor(p)
                try needShape(dst != nil && count == UInt64(x.count), "tensor_read: \(count) values requested from \(x.count)")
                let c = x.contiguous()
                dst!.update(from: c.data, count: c.count)
            }
        }
        t.tensor_write = { p, src, count, err in
            engineCall(err) {
                let x = try TensorHandles.tensor(p)
                try needShape(src != nil && count == UInt64(x.count), "tensor_write: \(count) values for \(x.count)")
                try need(x.isContiguous, "tensor_write: the tensor is a non-contiguous view")
                x.data.update(from: src!, count: x.count)
            }
        }
        t.tensor_grad = { p in
            guard let x = try? TensorHandles.tensor(p), let g = x.grad else { return nil }
            return TensorHandles.scoped(g)
        }
        t.mark_trainable = { p, name, err in
            engineCall(err) {
                let x = try TensorHandles.tensor(p)
                x.requiringGrad()
                if let name { x.name = String(cString: name) }
            }
        }
        t.param_register = { name, p, err in
            engineCall(err) {
                guard let name else { throw EngineCallError("param_register: name is NULL") }
                let key = String(cString: name), tensor = try TensorHandles.tensor(p)
                let store = ParameterStore.active
                if let pack = store.packOnRegister, let packed = try pack(key, tensor) {
                    store.packed[key] = packed
                    store[key] = nil
                } else {
                    store[key] = tensor
                }
            }
        }
        t.grad_enabled = { on in GradMode.set(on) }
        t.backward = { p, err in
            engineCall(err) {
                let loss = try TensorHandles.tensor(p, "loss")
                try needShape(loss.count == 1, "backward: the loss must have one element, got shape \(loss.shape)")
                GradMode.backwardFailure = nil
                loss.backward()
                if let failure = GradMode.backwardFailure { throw EngineCallError(failure, status: FACTORY_ERR_INTERNAL) }
            }
        }
        t.zero_grad = { p in (try? TensorHandles.tensor(p))?.zeroGrad() }
        installArithmetic(&t)
        installLayers(&t)
        installHooksAndOptimizer(&t)
    }

    static func binaryChecked(_ a: OpaquePointer?, _ b: OpaquePointer?, _ name: String) throws -> (Tensor, Tensor) {
        let x = try TensorHandles.tensor(a, "\(name): a"), y = try TensorHandles.tensor(b, "\(name): b")
        try needShape(ShapeRules.broadcast(name, x.shape, y.shape))
        return (x, y)
    }

    static func installArithmetic(_ t: inout factory_host_api_t) {
        t.add = { a, b, err in engineOp(err) { let (x, y) = try EngineServices.binaryChecked(a, b, "add"); return add(x, y) } }
        t.sub = { a, b, err in engineOp(err) { let (x, y) = try EngineServices.binaryChecked(a, b, "sub"); return sub(x, y) } }
        t.mul = { a, b, err in engineOp(err) { let (x, y) = try EngineServices.binaryChecked(a, b, "mul"); return mul(x, y) } }
        t.div = { a, b, err in engineOp(err) { let (x, y) = try EngineServices.binaryChecked(a, b, "div"); return div(x, y) } }
        t.scale = { x, s, err in engineOp(err) { scale(try TensorHandles.tensor(x), s) } }
        t.add_scalar = { x, s, err in engineOp(err) { addScalar(try TensorHandles.tensor(x), s) } }
        t.matmul = { a, b, err in
            engineOp(err) {
                let x = try TensorHandles.tensor(a, "matmul: a"), y = try TensorHandles.tensor(b, "matmul: b")
                try needShape(ShapeRules.matmul(x.shape, y.shape))
                return matmul(x, y)
            }
        }
        t.sum = { x, err in engineOp(err) { sum(try TensorHandles.tensor(x)) } }
        t.mean = { x, err in engineOp(err) { mean(try TensorHandles.tensor(x)) } }
        t.sum_axis = { x, a, keep, err in
            engineOp(err) { let v = try TensorHandles.tensor(x); return sum(v, axis: try axis(a, rank: v.rank), keepDim: keep) }
        }
        t.reshape = { x, shape, rank, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x), s = try TensorHandles.shape(shape, rank)
                try needShape(ShapeRules.reshape(v.shape, to: s))
                return v.reshaped(s)
            }
        }
        t.permute = { x, order, rank, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x)
                try need(order != nil && Int(rank) == v.rank, "permute: needs \(v.rank) axes")
                let o = (0..<Int(rank)).map { Int(order![$0]) }
                try need(o.sorted() == Array(0..<v.rank), "permute: \(o) is not a permutation of 0..<\(v.rank)")
                return v.permuted(o)
            }
        }
        t.transpose = { x, a, b, err in
            engineOp(err) { let v = try TensorHandles.tensor(x); return v.transposed(try axis(a, rank: v.rank), try axis(b, rank: v.rank)) }
        }
        t.slice = { x, a, start, length, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x), ax = try axis(a, rank: v.rank)
                try needShape(ShapeRules.slice(v.shape, axis: ax, start: Int(start), length: Int(length)))
                return v.slice(axis: ax, start: Int(start), length: Int(length))
            }
        }
        t.concat = { xs, n, a, err in
            engineOp(err) {
                try need(xs != nil && n > 0, "concat: no tensors")
                let ts = try (0..<Int(n)).map { try TensorHandles.tensor(xs![$0], "concat: tensor \($0)") }
                let ax = try axis(a, rank: ts[0].rank)
                try needShape(ShapeRules.concat(ts.map(\.shape), axis: ax))
                return concat(ts, axis: ax)
            }
        }
        t.contiguous = { x, err in engineOp(err) { try TensorHandles.tensor(x).contiguous() } }
    }

    static func lastDim(_ x: Tensor, _ w: Tensor, _ name: String) throws {
        try needShape(ShapeRules.lastDimension(name, x: x.shape, weight: w.shape))
    }

    static func installLayers(_ t: inout factory_host_api_t) {
        t.embedding = { w, ids, n, err in
            engineOp(err) {
                let table = try TensorHandles.tensor(w, "embedding: weight")
                try needShape(ShapeRules.embedding(weight: table.shape))
                try need(n >= 0 && (n == 0 || ids != nil), "embedding: ids are NULL")
                let list = (0..<Int(n)).map { Int(ids![$0]) }
                if let bad = list.first(where: { $0 < 0 || $0 >= table.shape[0] }) {
                    throw EngineCallError("embedding: id \(bad) outside the vocabulary of \(table.shape[0])")
                }
                return embedding(table, ids: list)
            }
        }
        t.rms_norm = { x, w, eps, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x), weight = try TensorHandles.tensor(w, "rms_norm: weight")
                try EngineServices.lastDim(v, weight, "rms_norm")
                return rmsNorm(v, weight: weight, eps: eps)
            }
        }
        t.layer_norm = { x, w, b, eps, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x), weight = try TensorHandles.tensor(w, "layer_norm: weight"), bias = try TensorHandles.tensor(b, "layer_norm: bias")
                try EngineServices.lastDim(v, weight, "layer_norm")
                try EngineServices.lastDim(v, bias, "layer_norm bias")
                return layerNorm(v, weight: weight, bias: bias, eps: eps)
            }
        }
        t.rope = { x, positions, n, invFreq, half, scaling, err in
            engineOp(err) {
                let v = try TensorHandles.tensor(x)
                try needShape(ShapeRules.rope(v.shape, positions: Int(n), half: Int(half)))
                try need(positions != nil && (half == 0 || invFreq != nil), "rope: positions or inverse frequencies are NULL")
                let freqs = RopeFrequencies(invFreq: (0..<Int(half)).map { invFreq![$0] }, attentionScaling: scaling)
                return rope(v, positions: (0..<Int(n)).map { Int(positions![$0]) }, frequencies: freqs)
            }
        }
        t.silu = { x, err in engineOp(err) { silu(try TensorHandles.tensor(x)) } }
        t.gelu_tanh = { x, err in engineOp(err) { geluTanh(try TensorHandles.tensor(x)) } }
        t.gelu_erf = { x, err in engineOp(err) { geluErf(try TensorHandles.tensor(x)) } }
        t.swiglu = { g, u, err in
            engineOp(err) {
                let a = try TensorHandles.tensor(g, "swiglu: gate"), b = try TensorHandles.tensor(u, "swiglu: up")
                try needShape(ShapeRules.swiglu(gate: a.shape, up: b.shape))
                return swiglu(a, b)
            }
        }
        t.softmax = { x, err in engineOp(err) { let v = try TensorHandles.tensor(x); try needShape(ShapeRules.rows("softmax", v.shape)); return softmax(v) } }
        t.log_softmax = { x, err in engineOp(err) { let v = try TensorHandles.tensor(x); try needShape(ShapeRules.rows("log_softmax", v.shape)); return logSoftmax(v) } }
        t.cross_entropy = { x, labels, n, err in
            engineOp(err) {
                let logits = try TensorHandles.tensor(x, "cross_entropy: logits")
                try needShape(ShapeRules.crossEntropy(logits: logits.shape, labels: Int(n)))
                try need(n == 0 || labels != nil, "cross_entropy: labels are NULL")
                let V = logits.shape[logits.rank - 1]
                let list = (0..<Int(n)).map { Int(labels![$0]) }
                if let bad = list.first(where: { $0 != ignoreIndex && ($0 < 0 || $0 >= V) }) {
                    throw EngineCallError("cross_entropy: label \(bad) outside the vocabulary of \(V)")
                }
                return crossEntropy(logits, labels: list)
            }
        }
        t.dropout = { x, p, seed, err in
            engineOp(err) {
                try need(p >= 0 && p < 1, "dropout: probability \(p) outside [0, 1)")
                return dropout(try TensorHandles.tensor(x), p: p, seed: seed)
            }
        }
    }

    static func installHooksAndOptimizer(_ t: inout factory_host_api_t) {
        t.linear = { name, x, err in
            engineOp(err) {
                guard let name else { throw EngineCallError("linear: name is NULL") }
                do { return try EngineHooks.linear(String(cString: name), try TensorHandles.tensor(x)) } catch let e as HookError {
                    throw EngineCallError(e.message)
                }
            }
        }
        t.linears = { names, count, x, out, err in
            guard let out else {
                report(err, EngineCallError("linears: out is NULL"))
                return FACTORY_ERR_INVALID_ARGUMENT.rawValue
            }
            for i in 0..<max(Int(count), 0) { out[i] = nil }
            var results: [Tensor] = []
            let status = engineCall(err) {
                guard let names, count > 0 else { throw EngineCallError("linears: no names (count \(count))") }
                let list = try (0..<Int(count)).map { i in
                    guard let name = names[i] else { throw EngineCallError("linears: names[\(i)] is NULL") }
                    return String(cString: name)
                }
                do { results = try EngineHooks.linears(list, try TensorHandles.tensor(x, "linears: x")) } catch let e as HookError {
                    throw EngineCallError(e.message)
                }
            }
            for (i, r) in results.enumerated() where status == FACTORY_OK.rawValue { out[i] = TensorHandles.scoped(r) }
            return status
        }
        t.attention = { q, k, v, mask, params, err in
            engineOp(err) {
                let qt = try TensorHandles.tensor(q, "attention: q"), kt = try TensorHandles.tensor(k, "attention: k"), vt = try TensorHandles.tensor(v, "attention: v")
                guard let params, params.pointee.struct_size >= UInt32(MemoryLayout<factory_attention_params_t>.size) else {
                    throw EngineCallError("attention: params are NULL or too small")
                }
                let m = try mask.map { try TensorHandles.tensor($0, "attention: mask") }
                try needShape(ShapeRules.attention(q: qt.shape, k: kt.shape, v: vt.shape, mask: m?.shape))
                let p = params.pointee
                let ap = AttentionParams(scale: p.scale, causal: p.causal, slidingWindow: p.sliding_window > 0 ? Int(p.sliding_window) : nil,
                                         softcap: p.softcap > 0 ? p.softcap : nil)
                do { return try EngineHooks.attentionByRow(qt, kt, vt, m, ap) } catch let e as HookError { throw EngineCallError(e.message) }
            }
        }
        t.custom_op = { name, inputs, n, shape, rank, forward, backward, userdata, err in
            engineOp(err) {
                guard let forward else { throw EngineCallError("custom_op: forward is NULL") }
                try need(n >= 0 && (n == 0 || inputs != nil), "custom_op: inputs are NULL")
                let ts = try (0..<Int(n)).map { try TensorHandles.tensor(inputs![$0], "custom_op: input \($0)") }
                let outShape = try TensorHandles.shape(shape, rank)
                return try CustomOp(name: name.map { String(cString: $0) } ?? "custom", forward: forward, backward: backward, userdata: userdata)
                    .run(ts, outShape: outShape)
            }
        }
        OptimizerServices.install(&t)
        ModelServices.install(&t)
    }
}

