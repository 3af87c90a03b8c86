// The shape rules of the engine's ops, in one place: each returns nil when its op is defined on the
// given shapes and otherwise the one-line refusal. The ops check them (a violation from Swift code
// in the host is a programming error and stops there), and the host's C ABI layer checks the same
// rules before calling an op and hands the refusal to the plugin as FACTORY_ERR_SHAPE_MISMATCH — it
// only translates handles, it has no shape rules of its own.
public enum ShapeRules {
    /// NumPy broadcasting of `a` against `b` (`name` is the op, in messages).
    public static func broadcast(_ name: String, _ a: [Int], _ b: [Int]) -> String? {
        let rank = max(a.count, b.count)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x != y && x != 1 && y != 1 { return "\(name): shapes \(a) and \(b) do not broadcast" }
        }
        return nil
    }

    /// a · b: matrices (or batches of them) whose inner sizes agree; b is one matrix or a batch like a's.
    public static func matmul(_ a: [Int], _ b: [Int]) -> String? {
        guard a.count >= 2 && b.count >= 2 else { return "matmul: needs matrices, got \(a) and \(b)" }
        guard a[a.count - 1] == b[b.count - 2] else { return "matmul: \(a) · \(b): inner sizes differ" }
        guard b.count == 2 || Array(b.dropLast(2)) == Array(a.dropLast(2)) else { return "matmul: batch shapes \(a) and \(b) differ" }
        return nil
    }

    /// A reshape keeps the element count.
    public static func reshape(_ from: [Int], to: [Int]) -> String? {
        let a = from.reduce(1, *), b = to.reduce(1, *)
        return a == b ? nil : "reshape: \(from) has \(a) elements, \(to) has \(b)"
    }

    /// start..<start+length lies inside the axis.
    public static func slice(_ shape: [Int], axis: Int, start: Int, length: Int) -> String? {
        start >= 0 && length >= 0 && start + length <= shape[axis] ? nil : "slice: \(start)..<\(start + length) outside \(shape[axis])"
    }

    /// Every tensor has the first one's rank and sizes but along `axis`.
    public static func concat(_ shapes: [[Int]], axis: Int) -> String? {
        guard let first = shapes.first else { return "concat: no tensors" }
        for (i, s) in shapes.enumerated() where !(s.count == first.count && (0..<s.count).allSatisfy { $0 == axis || s[$0] == first[$0] }) {
            return "concat: tensor \(i) \(s) does not fit \(first) along axis \(axis)"
        }
        return nil
    }

    /// A per-feature weight (a norm's) of the size of x's last dimension.
    public static func lastDimension(_ name: String, x: [Int], weight: [Int]) -> String? {
        !x.isEmpty && weight == [x[x.count - 1]] ? nil : "\(name): weight \(weight) does not match the last dimension of \(x)"
    }

    /// An embedding table is [V, D].
    public static func embedding(weight: [Int]) -> String? {
        weight.count == 2 ? nil : "embedding: weight must be [V, D], got \(weight)"
    }

    /// RoPE on [B, T, H, D] or [T, H, D] with `positions` (T shared by the batch, or with `perRow` B × T)
    /// and `half` frequencies (2·half ≤ D). The C ABI passes either (host.h, B × T since 1.8).
    public static func rope(_ x: [Int], positions: Int, half: Int, perRow: Bool = true) -> String? {
        guard x.count == 3 || x.count == 4 else { return "rope: x must be [B, T, H, D] or [T, H, D], got \(x)" }
        let T = x[x.count - 3], B = x.count == 4 ? x[0] : 1
        guard positions == T || (perRow && positions == B * T) else { return "rope: \(positions) positions for \(T) tokens" }
        guard half >= 0 && 2 * half <= x[x.count - 1] else { return "rope: \(half) frequencies for head size \(x[x.count - 1])" }
        return nil
    }

    /// SwiGLU's gate and up projections agree.
    public static func swiglu(gate: [Int], up: [Int]) -> String? {
        gate == up ? nil : "swiglu: gate \(gate) and up \(up) differ"
    }

    /// A row-wise op (softmax, log-softmax) needs at least one dimension.
    public static func rows(_ name: String, _ x: [Int]) -> String? { x.isEmpty ? "\(name): a scalar" : nil }

    /// One label per row of logits [..., V].
    public static func crossEntropy(logits: [Int], labels: Int) -> String? {
        guard !logits.isEmpty else { return "cross_entropy: logits are a scalar" }
        let V = logits[logits.count - 1], rows = V == 0 ? 0 : logits.reduce(1, *) / V
        return labels == rows ? nil : "cross_entropy: \(labels) labels for \(rows) rows"
    }

    /// Attention over q [B, Hq, T, D], k and v [B, Hkv, S, D] (Hq a multiple of Hkv), a mask that
    /// broadcasts to [B, Hq, T, S].
    public static func attention(q: [Int], k: [Int], v: [Int], mask: [Int]?) -> String? {
        guard q.count == 4 && k.count == 4 && v.count == 4 else { return "attention: q, k, v must be [B, H, T, D]" }
        guard k[0] == q[0] && k[3] == q[3] && v[0...2] == k[0...2] else { return "attention: q \(q), k \(k), v \(v) disagree" }
        guard k[1] > 0 && q[1] % k[1] == 0 else { return "attention: \(q[1]) query heads are not a multiple of \(k[1]) kv heads" }
        if let m = mask, m.count != 4 || broadcast("attention", m, [q[0], q[1], q[2], k[2]]) != nil {
            return "attention: mask \(m) does not broadcast"
        }
        return nil
    }

    /// x [..., in] · wᵀ with w [out, in], and a bias [out].
    public static func linear(x: [Int], weight: [Int], bias: [Int]?) -> String? {
        guard weight.count == 2 && !x.isEmpty && x[x.count - 1] == weight[1] else {
            return "linear_with: input \(x) does not fit weight \(weight) ([out, in])"
        }
        if let b = bias, b != [weight[0]] { return "linear_with: bias \(b) does not fit weight \(weight)" }
        return nil
    }
}
