// The building blocks a decoder family's forward is written with, each a few host calls: the
// embedding, RMSNorm, grouped-query attention with RoPE and an optional KV cache, the SwiGLU MLP,
// and the layer loop (gradient checkpointing per layer without a cache, one host scope per layer
// with one). Every linear goes through the hookable `linear`, so LoRA, DoRA and quantizers apply
// without a family knowing; every op is the host's, forward and backward.
import FactoryPluginKit

public enum DecoderBlocks {
    /// ids [B·T] → hidden states [B, T, hidden].
    public static func embed(_ table: HostTensor, ids: [Int], batch B: Int, seq T: Int, hidden: Int) throws -> HostTensor {
        try Engine.reshape(try Engine.embedding(table, ids: ids), [B, T, hidden])
    }

    /// Runs `layer(l, x)` for every layer: as a checkpointed block when there is no cache (training and
    /// scoring; the host decides whether to recompute), else in a host scope of its own (decoding).
    /// `mask` is retained for the blocks that re-run in backward.
    public static func layers(_ count: Int, _ input: HostTensor, mask: HostTensor?, cache: OpaquePointer?,
                              _ layer: @escaping (Int, HostTensor, HostTensor?) throws -> HostTensor) throws -> HostTensor {
        var x = input
        for l in 0..<count {
            let h = x
            if cache == nil {
                let kept = try mask.map { try Engine.retain($0) }  // the block owns it: backward re-runs the layer
                x = try Engine.checkpoint(h, keeping: kept.map { [$0] } ?? []) { h in try layer(l, h, kept) }
            } else {
                x = try Engine.scope { try layer(l, h, mask) }
            }
            Engine.observe("layer\(l)_out", x)
        }
        return x
    }

    /// The shape of grouped-query attention.
    public struct AttentionShape: Sendable {
        public let heads: Int, kvHeads: Int, headDim: Int
        public init(heads: Int, kvHeads: Int, headDim: Int) { (self.heads, self.kvHeads, self.headDim) = (heads, kvHeads, headDim) }
    }

    /// Per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3): weights [headDim].
    public struct HeadNorms {
        public let q: HostTensor, k: HostTensor, eps: Float
        public init(q: HostTensor, k: HostTensor, eps: Float) { (self.q, self.k, self.eps) = (q, k, eps) }
    }

    /// Self-attention of `h` [B, T, hidden]: q/k/v projections in one `linears` call (their biases, when the
    /// checkpoint has them, apply by name), then `attend`.
    public static func attention(_ h: HostTensor, q: ParameterSpec, k: ParameterSpec, v: ParameterSpec, o: ParameterSpec,
                                 _ s: AttentionShape, positions: [Int], rotary: Rotary, mask: HostTensor?,
                                 cache: OpaquePointer?, layer: Int, batch B: Int, seq T: Int,
                                 headNorms: HeadNorms? = nil, slidingWindow: Int = 0, scale: Float? = nil,
                                 softcap: Float = 0) throws -> HostTensor {
        let qkv = try Engine.linears([q.module, k.module, v.module], h)
        return try attend(q: qkv[0], k: qkv[1], v: qkv[2], o: o, s,
                   positions: positions, rotary: rotary, mask: mask, cache: cache, layer: layer, batch: B, seq: T, headNorms: headNorms,
                   slidingWindow: slidingWindow, scale: scale, softcap: softcap)
    }

    /// Attention of projected queries, keys and values ([B, T, heads · headDim] each): `headNorms` on q
    /// and k, RoPE at `positions` by `rotary`, the KV cache of layer `layer` when given, scaled dot-product
    /// attention through the host's kernel (scores · `scale`, 1/√headDim unless given, capped by
    /// `softcap` when > 0, causal, `mask` added, the last `slidingWindow` keys when > 0), the output projection.
    public static func attend(q: HostTensor, k: HostTensor, v: HostTensor, o: ParameterSpec, _ s: AttentionShape, positions: [Int],
                              rotary: Rotary, mask: HostTensor?, cache: OpaquePointer?, layer: Int, batch B: Int, seq T: Int,
                              headNorms: HeadNorms? = nil, slidingWindow: Int = 0, scale: Float? = nil,
                              softcap: Float = 0) throws -> HostTensor {
        var qs = try Engine.reshape(q, [B, T, s.heads, s.headDim])
        var ks = try Engine.reshape(k, [B, T, s.kvHeads, s.headDim])
        var vs = try Engine.reshape(v, [B, T, s.kvHeads, s.headDim])
        if let n = headNorms {
            qs = try Engine.rmsNorm(qs, n.q, eps: n.eps)
            ks = try Engine.rmsNorm(ks, n.k, eps: n.eps)
        }
        let (f, scaling) = (rotary.invFreq, rotary.attentionScaling)
        qs = try Engine.permute(try Engine.rope(qs, positions: positions, invFreq: f, attentionScaling: scaling), [0, 2, 1, 3])
        ks = try Engine.permute(try Engine.rope(ks, positions: positions, invFreq: f, attentionScaling: scaling), [0, 2, 1, 3])
        vs = try Engine.permute(vs, [0, 2, 1, 3])
        if let cache { (ks, vs) = try Engine.kvCacheUpdate(cache, layer: layer, k: ks, v: vs) }
        let a = try Engine.attention(qs, ks, vs, mask: mask, scale: scale ?? 1 / Float(s.headDim).squareRoot(), slidingWindow: slidingWindow,
                                     softcap: softcap)
        let merged = try Engine.reshape(try Engine.permute(a, [0, 2, 1, 3]), [B, T, s.heads * s.headDim])
        return try Engine.linear(o.module, merged)
    }

    /// down(silu(gate(h)) · up(h)).
    public static func swigluMLP(_ h: HostTensor, gate: ParameterSpec, up: ParameterSpec, down: ParameterSpec) throws -> HostTensor {
        let gateUp = try Engine.linears([gate.module, up.module], h)
        return try Engine.linear(down.module, try Engine.swiglu(gateUp[0], gateUp[1]))
    }

    /// Gemma's RMSNorm: x / rms(x) · (1 + weight) (the weight is stored as an offset from 1).
    public static func offsetRMSNorm(_ x: HostTensor, _ weight: HostTensor, eps: Float) throws -> HostTensor {
        try Engine.rmsNorm(x, try Engine.addScalar(weight, 1), eps: eps)
    }

    /// Gemma 2's and 3's residual step, a (1 + w) RMSNorm before and after the block: x + post(f(pre(x))).
    public static func sandwich(_ x: HostTensor, pre: HostTensor, post: HostTensor, eps: Float,
                                _ f: (HostTensor) throws -> HostTensor) throws -> HostTensor {
        try Engine.add(x, try offsetRMSNorm(try f(try offsetRMSNorm(x, pre, eps: eps)), post, eps: eps))
    }

    /// Gemma's GeGLU MLP: down(gelu_tanh(gate(h)) · up(h)).
    public static func gegluMLP(_ h: HostTensor, gate: ParameterSpec, up: ParameterSpec, down: ParameterSpec) throws -> HostTensor {
        let gateUp = try Engine.linears([gate.module, up.module], h)
        return try Engine.linear(down.module, try Engine.mul(try Engine.geluTanh(gateUp[0]), gateUp[1]))
    }

    /// llama.cpp's converter adds 1 to every Gemma norm weight (`…norm.weight`); this takes it off again.
    public static func gemmaNormFromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor {
        spec.name.hasSuffix("norm.weight") ? try Engine.addScalar(t, -1) : t
    }

    /// gemmaNormFromGGUF's inverse, for the host to apply.
    public static func gemmaGGUFWriteRule(_ spec: ParameterSpec) -> GGUFWriteRule { spec.name.hasSuffix("norm.weight") ? .plusOne : .asIs }

    /// Gemma's embeddings: looked up, then scaled by √hidden.
    public static func scaledEmbed(_ table: HostTensor, ids: [Int], batch B: Int, seq T: Int, hidden: Int) throws -> HostTensor {
        try Engine.scale(try embed(table, ids: ids, batch: B, seq: T, hidden: hidden), Float(hidden).squareRoot())
    }

    /// A Llama-layout GGUF tensor as Hugging Face lays it out: q_proj and k_proj rows un-permuted
    /// (`unpermuteGGUFRows`), everything else as read. The fromGGUF of Llama, Mistral and their kin.
    public static func llamaFromGGUF(_ t: HostTensor, _ spec: ParameterSpec, _ c: DecoderConfiguration) throws -> HostTensor {
        if spec.name.hasSuffix("self_attn.q_proj.weight") { return try unpermuteGGUFRows(t, heads: c.heads, headDim: c.headDim) }
        if spec.name.hasSuffix("self_attn.k_proj.weight") { return try unpermuteGGUFRows(t, heads: c.kvHeads, headDim: c.headDim) }
        return t
    }

    /// llamaFromGGUF's inverse, for the host to apply.
    public static func llamaGGUFWriteRule(_ spec: ParameterSpec, _ c: DecoderConfiguration) -> GGUFWriteRule {
        if spec.name.hasSuffix("self_attn.q_proj.weight") { return .permuteRows(heads: c.heads, headDim: c.headDim) }
        if spec.name.hasSuffix("self_attn.k_proj.weight") { return .permuteRows(heads: c.kvHeads, headDim: c.headDim) }
        return .asIs
    }

    /// llama.cpp's converter reorders the rows of Llama's q and k weights per head (for its rope kernel);
    /// this undoes it: per head, HF row j·D/2 + i ← GGUF row 2i + j.
    public static func unpermuteGGUFRows(_ w: HostTensor, heads: Int, headDim D: Int) throws -> HostTensor {
        let inFeatures = try Engine.shape(w)[1]
        let split = try Engine.reshape(w, [heads, D / 2, 2, inFeatures])
        return try Engine.contiguous(try Engine.reshape(try Engine.contiguous(try Engine.permute(split, [0, 2, 1, 3])), [heads * D, inFeatures]))
    }
}
