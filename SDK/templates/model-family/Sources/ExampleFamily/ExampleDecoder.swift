// An example model family: a small Llama-like decoder, written out block by block so that porting a real
// architecture means changing the lines that differ (docs/porting-a-model.md walks through it).
//
// Read from a Hugging Face config.json whose model_type is "example_decoder" (or a GGUF whose
// general.architecture is), with Llama's parameter names: pre-norm layers (RMSNorm → grouped-query
// attention with RoPE → residual, RMSNorm → SwiGLU MLP → residual), a final RMSNorm, the LM head (tied to
// the embeddings when the checkpoint has none).
import CFactoryABI
import DecoderFamilyKit
import FactoryJSON
import FactoryPluginKit

struct ExampleDecoder: DecoderArchitecture, DecoderPartsHolder {
    /// Who this family is: `features` are the model_type / general.architecture values it loads.
    static let descriptor = ComponentDescriptor(
        id: "org.example.model.example-decoder", name: "example_decoder", version: "0.1.0", vendor: "Example",
        summary: "An example Llama-like decoder family, built out of tree on the Factory SDK", features: ["example_decoder"])
    /// The class name a saved config.json names.
    static let hfArchitecture = "LlamaForCausalLM"

    /// Every parameter, named once: Hugging Face name, shape, GGUF name (StandardLayer is Llama's layer).
    let parts: DecoderParts<StandardLayer>

    init(config c: DecoderConfiguration) throws { parts = DecoderParts(c, layer: StandardLayer.init) }

    var parameters: [ParameterSpec] { parts.parameters(\.all) }
    var hfConfigExtras: [(String, JSON)] { [("model_type", "llama")] }

    /// A GGUF tensor as Hugging Face lays it out (llama.cpp permutes Llama's q and k rows).
    func fromGGUF(_ t: HostTensor, _ spec: ParameterSpec) throws -> HostTensor { try DecoderBlocks.llamaFromGGUF(t, spec, config) }

    /// ids [batch, seq] at absolute `positions` → logits [batch, seq, vocab]. With a `cache`, this call's
    /// keys and values are appended to it and attention sees all of them (decoding one token at a time).
    func forward(_ w: HeldWeights, ids: [Int], batch B: Int, seq T: Int, positions: [Int], mask: HostTensor?,
                 cache: OpaquePointer?) throws -> HostTensor {
        let c = config
        #if FACTORY_EXAMPLE_BROKEN_CACHE
        // A deliberate bug for `factory plugins check` to catch: decoding forgets where it is in the sequence.
        let positions = cache == nil ? positions : Array(0..<T)
        #endif
        let rotary = parts.rotary.at(positions)  // RoPE frequencies (with the config's scaling) for this call
        let x = try DecoderBlocks.embed(try w[embedTokens], ids: ids, batch: B, seq: T, hidden: c.hiddenSize)
        let out = try DecoderBlocks.layers(parts.layers.count, x, mask: mask, cache: cache) { l, input, mask in
            let layer = parts.layers[l]
            let h = try Engine.rmsNorm(input, try w[layer.inputNorm], eps: c.rmsNormEps)
            let attended = try DecoderBlocks.attention(h, q: layer.q, k: layer.k, v: layer.v, o: layer.o, parts.attentionShape,
                                                       positions: positions, rotary: rotary, mask: mask, cache: cache, layer: l, batch: B, seq: T)
            let x = try Engine.add(input, attended)
            let h2 = try Engine.rmsNorm(x, try w[layer.postNorm], eps: c.rmsNormEps)
            return try Engine.add(x, try DecoderBlocks.swigluMLP(h2, gate: layer.gate, up: layer.up, down: layer.down))
        }
        let normed = try Engine.rmsNorm(out, try w[parts.finalNorm], eps: c.rmsNormEps)
        return try Engine.linear("lm_head", normed)  // the host's LM head (the fused loss in training)
    }
}

/// The plugin's entry point: one model family, wrapped by the kit into the C ABI's tables.
@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(modelFamilies: [DecoderFamily<ExampleDecoder>.self]) }
}
