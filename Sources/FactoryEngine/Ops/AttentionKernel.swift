// Attention through an AttentionKernel: an algorithm on plain contiguous buffers (the host's view
// of an attention-kernel plugin), wrapped here into an op with a recorded backward. The kernel keeps
// what its backward needs in `saved` (probabilities for an eager kernel, one log-sum-exp per query
// row for a flash kernel).

/// One attention call as a kernel sees it: q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv].
public struct AttentionProblem: Sendable {
    public var batch: Int, qHeads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int
    public var params: AttentionParams
    /// Padding and packed-sample numbers of the keys; nil = every key is a token of one sequence.
    public var segments: [Int32]?
    public var packed: Bool

    public init(batch: Int, qHeads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int,
                params: AttentionParams, segments: [Int32]? = nil, packed: Bool = false) {
        (self.batch, self.qHeads, self.kvHeads, self.queries, self.keys, self.headDim, self.valueDim) =
            (batch, qHeads, kvHeads, queries, keys, headDim, valueDim)
        self.params = params
        self.segments = segments
        self.packed = packed
    }

    public var outCount: Int { batch * qHeads * queries * valueDim }
}

/// An attention algorithm (forward and backward) on contiguous fp32 buffers. Errors are thrown,
/// never trapped; `name` appears in messages.
public protocol AttentionKernel: AnyObject {
    var name: String { get }
    /// Floats forward keeps for backward on `problem`; throws when the kernel cannot run it.
    func savedCount(_ problem: AttentionProblem) throws -> Int
    /// Fills `out` (and `saved` when not nil) from q, k, v.
    func forward(_ problem: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>?) throws
    /// Adds the gradients into dq, dk, dv (zero-filled by the caller).
    func backward(_ problem: AttentionProblem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  out: UnsafePointer<Float>, dout: UnsafePointer<Float>, saved: UnsafePointer<Float>,
                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) throws
}

/// softmax(q kᵀ · scale + mask) v computed by `kernel`. A mask must be a padding mask or carry a
/// SegmentMask (what the host hands a family); any other additive mask goes to the reference
/// attention, which reads it element by element.
public func kernelAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor?, params: AttentionParams, kernel: AttentionKernel) throws -> Tensor {
    let B = q.shape[0], Hq = q.shape[1], T = q.shape[2], D = q.shape[3], Hkv = k.shape[1], S = k.shape[2], Dv = v.shape[3]
    var segments: SegmentMask?
    if let mask {
        guard let s = SegmentMask.of(mask, batch: B, keys: S) else { return attentionReference(q: q, k: k, v: v, mask: mask, params: params) }
        segments = s
    }
    let problem = AttentionProblem(batch: B, qHeads: Hq, kvHeads: Hkv, queries: T, keys: S, headDim: D, valueDim: Dv, params: params,
                                   segments: segments?.segments, packed: segments?.packed ?? false)
    let qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous()
    let inputs = [qc, kc, vc]
    let training = GradMode.enabled && inputs.contains { $0.requiresGrad }
    var out: Tensor, saved: Tensor?
    let kept = KeptOutputs.replaying?.nextAttention()  // consumed in order, used or not
    if training, let kept, kept.0.count == problem.outCount {
        (out, saved) = (kept.0.detached(), kept.1)  // a checkpoint's backward: the forward's result, not recomputed
    } else {
        let keeper = KeptOutputs.keeping
        let savedCount = try kernel.savedCount(problem)
        // Inside a checkpoint's forward, keep the output when the saved state is small (a flash
        // kernel's O(T)); an eager kernel's O(T²) probabilities are recomputed instead.
        let keep = keeper != nil && savedCount <= problem.outCount
        out = Tensor(shape: [B, Hq, T, Dv])
        saved = training || keep ? Tensor(shape: [max(savedCount, 1)]) : nil
        try kernel.forward(problem, q: qc.data, k: kc.data, v: vc.data, out: out.data, saved: saved?.data)
        keeper?.attention.append(keep ? (out, saved!) : nil)
    }
    guard training, let saved else { return out }
    let result = out.detached()
    return out.recorded("attention(\(kernel.name))", inputs) { g in
        let gc = g.contiguous()
        let dq = Tensor(shape: qc.shape, zeroed: true), dk = Tensor(shape: kc.shape, zeroed: true), dv = Tensor(shape: vc.shape, zeroed: true)
        do {
            try kernel.backward(problem, q: qc.data, k: kc.data, v: vc.data, out: result.data, dout: gc.data, saved: saved.data,
                                dq: dq.data, dk: dk.data, dv: dv.data)
        } catch {
            if GradMode.backwardFailure == nil { GradMode.backwardFailure = "attention kernel '\(kernel.name)': \(error)" }
            return [nil, nil, nil]
        }
        return [dq, dk, dv]
    }
}
