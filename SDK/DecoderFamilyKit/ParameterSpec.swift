// A parameter named once: its Hugging Face name, shape, whether the hookable linear reads it
// (so LoRA and quantizers may apply), and its llama.cpp (GGUF) name. A family builds its specs once;
// describe() lists them, load_weights() fetches them, and forward() reads them by the same value.
import FactoryPluginKit

public struct ParameterSpec: Sendable {
    /// Hugging Face name: "model.layers.3.self_attn.q_proj.weight".
    public let name: String
    public let shape: [Int]
    /// Read through linear(module, x): a LoRA target and a quantizer's candidate.
    public let linear: Bool
    /// llama.cpp's name in a GGUF file: "blk.3.attn_q.weight".
    public let gguf: String

    public init(_ name: String, _ shape: [Int], linear: Bool = false, gguf: String) {
        (self.name, self.shape, self.linear, self.gguf) = (name, shape, linear, gguf)
    }

    /// The module a linear call names ("model.layers.3.self_attn.q_proj"): the name without ".weight".
    public var module: String { name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name }
}

extension ParameterSpec {
    /// The parameters outside the layers that every Llama-style decoder names the same way.
    public static func embedTokens(_ c: DecoderConfiguration) -> ParameterSpec {
        ParameterSpec("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], gguf: "token_embd.weight")
    }
    public static func finalNorm(_ c: DecoderConfiguration) -> ParameterSpec {
        ParameterSpec("model.norm.weight", [c.hiddenSize], gguf: "output_norm.weight")
    }
    /// Not read through `linear` as an adapter target: the host's lm_head call becomes the fused loss in training.
    public static func lmHead(_ c: DecoderConfiguration) -> ParameterSpec {
        ParameterSpec("lm_head.weight", [c.vocabSize, c.hiddenSize], gguf: "output.weight")
    }
}

/// Names inside one decoder layer: `layer.linear("self_attn.q_proj", gguf: "attn_q", shape)` makes
/// "model.layers.L.self_attn.q_proj.weight" ↔ "blk.L.attn_q.weight".
public struct LayerNames: Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }

    public func linear(_ module: String, gguf: String, _ shape: [Int]) -> ParameterSpec {
        ParameterSpec("model.layers.\(index).\(module).weight", shape, linear: true, gguf: "blk.\(index).\(gguf).weight")
    }

    /// A bias of a linear module (read by the host's linear with its weight, never trained alone).
    public func bias(_ module: String, gguf: String, _ size: Int) -> ParameterSpec {
        ParameterSpec("model.layers.\(index).\(module).bias", [size], gguf: "blk.\(index).\(gguf).bias")
    }

    public func norm(_ module: String, gguf: String, _ size: Int) -> ParameterSpec {
        ParameterSpec("model.layers.\(index).\(module).weight", [size], gguf: "blk.\(index).\(gguf).weight")
    }
}

/// The weights a forward reads directly (embeddings, norms): fetched by spec, retained until released.
public final class HeldWeights {
    private var tensors: [String: HostTensor] = [:]
    public init() {}
    deinit { for t in tensors.values { Engine.release(t) } }

    public func keep(_ spec: ParameterSpec, _ t: HostTensor) throws { tensors[spec.name] = try Engine.retain(t) }
    public func has(_ spec: ParameterSpec) -> Bool { tensors[spec.name] != nil }

    /// The held tensor of `spec`; an error (never a trap) before load_weights().
    public subscript(_ spec: ParameterSpec) -> HostTensor {
        get throws {
            guard let t = tensors[spec.name] else { throw PluginError.invalidArgument("\(spec.name) is not loaded (forward() before load_weights()?)") }
            return t
        }
    }
}
