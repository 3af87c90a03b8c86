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
    /// Inverse RoPE frequencies (with the config's scaling).
    public let invFreq: [Float]
    public let attentionShape: DecoderBlocks.AttentionShape

    public init(_ c: DecoderConfiguration, layer: (Int, DecoderConfiguration) -> Layer) {
        config = c
        (embedTokens, finalNorm, lmHead) = (.embedTokens(c), .finalNorm(c), .lmHead(c))
        layers = (0..<c.layers).map { layer($0, c) }
        invFreq = c.inverseFrequencies()
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
