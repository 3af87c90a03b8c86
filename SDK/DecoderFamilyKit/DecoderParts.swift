// What every Llama-style decoder family holds, built once from its hyper-parameters: the standard
// layer's parameters (two RMSNorms, q/k/v/o, the gated MLP, each named once with its GGUF name), and
// the parts around the layers (embeddings, final norm, LM head, RoPE frequencies, attention shape).
// A family adds its own parameters beside a StandardLayer (Qwen2's biases, Qwen3's head norms).
import FactoryPluginKit

/// The parameters of a Llama-style decoder layer, as transformers and llama.cpp name them.
public struct StandardLayer: Sendable {
    public let inputNorm, q, k, v, o, postNorm, gate, up, down: ParameterSpec

    public init(_ l: Int, _ c: DecoderConfiguration) {
        let n = LayerNames(l), h = c.hiddenSize, qSize = c.heads * c.headDim, kvSize = c.kvHeads * c.headDim
        inputNorm = n.norm("input_layernorm", gguf: "attn_norm", h)
        q = n.linear("self_attn.q_proj", gguf: "attn_q", [qSize, h])
        k = n.linear("self_attn.k_proj", gguf: "attn_k", [kvSize, h])
        v = n.linear("self_attn.v_proj", gguf: "attn_v", [kvSize, h])
        o = n.linear("self_attn.o_proj", gguf: "attn_output", [h, qSize])
        postNorm = n.norm("post_attention_layernorm", gguf: "ffn_norm", h)
        gate = n.linear("mlp.gate_proj", gguf: "ffn_gate", [c.intermediateSize, h])
        up = n.linear("mlp.up_proj", gguf: "ffn_up", [c.intermediateSize, h])
        down = n.linear("mlp.down_proj", gguf: "ffn_down", [h, c.intermediateSize])
    }

    /// In transformers' order.
    public var all: [ParameterSpec] { [inputNorm, q, k, v, o, postNorm, gate, up, down] }
}

/// The parts of a decoder around its layers, and the layers (`Layer`: the family's own layer type).
public struct DecoderParts<Layer> {
    public let config: DecoderConfiguration
    public let embedTokens, finalNorm, lmHead: ParameterSpec
    public let layers: [Layer]
    /// The rotary embedding (the config's base, dimensions and scaling).
    public let rotary: RotaryEmbedding
    public let attentionShape: DecoderBlocks.AttentionShape

    public init(_ c: DecoderConfiguration, layer: (Int, DecoderConfiguration) -> Layer) {
        config = c
        (embedTokens, finalNorm, lmHead) = (.embedTokens(c), .finalNorm(c), .lmHead(c))
        layers = (0..<c.layers).map { layer($0, c) }
        rotary = c.rotary
        attentionShape = .init(heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim)
    }

    /// Every parameter: the embeddings, each layer's (`of`), the final norm, the LM head.
    public func parameters(_ of: (Layer) -> [ParameterSpec]) -> [ParameterSpec] {
        [embedTokens] + layers.flatMap(of) + [finalNorm, lmHead]
    }
}

/// A decoder architecture that keeps its parts in `parts`: its config, embeddings and LM head are theirs.
public protocol DecoderPartsHolder {
    associatedtype Layer
    var parts: DecoderParts<Layer> { get }
}

extension DecoderArchitecture where Self: DecoderPartsHolder {
    public var config: DecoderConfiguration { parts.config }
    public var embedTokens: ParameterSpec { parts.embedTokens }
    public var lmHead: ParameterSpec { parts.lmHead }
}

extension DecoderParts {
    /// Llama's pre-norm layer `l`: x + attention(rmsNorm(x)), then x + SwiGLU(rmsNorm(x)), with `headNorms`
    /// on q and k when given and the config's sliding window.
    public func preNormLayer(_ l: Int, _ input: HostTensor, _ s: StandardLayer, _ w: HeldWeights, positions: [Int], mask: HostTensor?,
                             cache: OpaquePointer?, batch B: Int, seq T: Int, headNorms: DecoderBlocks.HeadNorms? = nil) throws -> HostTensor {
        let eps = config.rmsNormEps
        let h = try Engine.rmsNorm(input, try w[s.inputNorm], eps: eps)
        let attended = try DecoderBlocks.attention(h, q: s.q, k: s.k, v: s.v, o: s.o, attentionShape, positions: positions, rotary: rotary.at(positions),
                                                   mask: mask, cache: cache, layer: l, batch: B, seq: T, headNorms: headNorms,
                                                   slidingWindow: config.slidingWindow)
        Engine.observe("layer\(l).self_attn_out", attended)
        let x = try Engine.add(input, attended)
        let h2 = try Engine.rmsNorm(x, try w[s.postNorm], eps: eps)
        return try Engine.add(x, try DecoderBlocks.swigluMLP(h2, gate: s.gate, up: s.up, down: s.down))
    }

    /// Llama's forward around the layers: embeddings, `layer` for each layer (see DecoderBlocks.layers),
    /// the final RMSNorm and the LM head.
    public func llamaForward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, mask: HostTensor?, cache: OpaquePointer?,
                             layer: @escaping (Int, HostTensor, HostTensor?) throws -> HostTensor) throws -> HostTensor {
        let x = try DecoderBlocks.embed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: config.hiddenSize)
        Engine.observe("embed_tokens", x)
        let out = try DecoderBlocks.layers(layers.count, x, mask: mask, cache: cache, layer)
        let normed = try Engine.rmsNorm(out, try w[finalNorm], eps: config.rmsNormEps)
        Engine.observe("final_norm_out", normed)
        return try Engine.linear("lm_head", normed)
    }
}
