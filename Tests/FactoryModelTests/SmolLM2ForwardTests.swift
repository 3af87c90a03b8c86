import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation
import XCTest

/// SmolLM2-135M-Instruct from the pip package's Q4_1 GGUF against smollm2/forward/
/// (transformers, fp32 after dequantisation), with the README's tolerances.
final class SmolLM2ForwardTests: XCTestCase {
    nonisolated(unsafe) static var model: LoadedModel?

    func model() throws -> LoadedModel {
        if let m = Self.model { return m }
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let m = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins)
        Self.model = m
        return m
    }

    func cases() throws -> [JSON] {
        let data = try Data(contentsOf: URL(fileURLWithPath: LlamaForwardTests.fixtures + "/smollm2/forward/cases.json"))
        return try JSON.parse(bytes: [UInt8](data))["prompts"]?.arrayValue ?? []
    }

    func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: LlamaForwardTests.fixtures + "/smollm2/forward/" + name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testLastLogitsLogProbsAndLossOfEveryPrompt() throws {
        let model = try model()
        let prompts = try cases()
        XCTAssertEqual(prompts.count, 6)
        for p in prompts {
            let name = p["name"]?.stringValue ?? "?"
            let ids = (p["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let logits = try model.logits(ids)
            let V = logits.shape[1]
            let all = logits.values
            let last = Array(all[((ids.count - 1) * V)...])
            let expected = try floats(p["last_logits"]?["file"]?.stringValue ?? "")
            let diff = zip(last, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            print("\(name): max |Δ last logits| = \(diff)")
            XCTAssertLessThanOrEqual(diff, 1e-3, "\(name) last logits")
            guard ids.count > 1 else { continue }
            let logProbs = logSoftmax(logits).values
            let got = (0..<(ids.count - 1)).map { logProbs[$0 * V + ids[$0 + 1]] }
            let want = (p["next_token_logprobs"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }
            XCTAssertEqual(got.count, want.count)
            let lpDiff = zip(got, want).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(lpDiff, 1e-3, "\(name) next-token log-probs")
            let loss = -got.reduce(0.0) { $0 + Double($1) } / Double(got.count)
            XCTAssertEqual(loss, p["loss"]?.doubleValue ?? .nan, accuracy: 1e-4, "\(name) loss")
        }
    }
}

extension SmolLM2ForwardTests {
    /// 32 greedy tokens with the KV cache, not stopped at EOS, equal to transformers' for every prompt.
    func testGreedyContinuationsAreExact() throws {
        let model = try model()
        let generator = Generator(model: model)
        var options = SamplingOptions()
        options.doSample = false
        options.maxNewTokens = 32
        options.ignoreEOS = true
        for p in try cases() {
            let ids = (p["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let expected = (p["greedy_ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            XCTAssertEqual(expected.count, 32)
            var streamed = ""
            let got = try generator.generate(prompt: ids, options: options, stopIDs: [2]) { _, text in streamed += text; return true }
            XCTAssertEqual(got, expected, p["name"]?.stringValue ?? "?")
            XCTAssertEqual(streamed, model.tokenizer.decode(got), "streamed text")
            if let text = p["greedy_text"]?.stringValue { XCTAssertEqual(model.tokenizer.decode(got), text) }
        }
    }
}

extension SmolLM2ForwardTests {
    /// Layer-0 projections and the embeddings against transformers' hidden-state dumps: these pin
    /// the GGUF name mapping and the q/k un-permutation directly.
    func testLayerZeroHiddenStatesMatchTheDumps() throws {
        let model = try model()
        let ids = [504, 3575, 282, 4649, 314]  // short_sentence
        let store = model.parameters
        let previous = ParameterStore.active
        ParameterStore.active = store
        defer { ParameterStore.active = previous }
        let embed = GradMode.disabled { embedding(store["model.embed_tokens.weight"]!, ids: ids) }
        XCTAssertEqual(embed.values, try floats("hidden_short_sentence/embed_tokens.f32.bin"), "embeddings are exact")
        let h = GradMode.disabled { rmsNorm(embed, weight: store["model.layers.0.input_layernorm.weight"]!, eps: 1e-5) }
        for (module, file) in [("q_proj", "layer0.q_proj_out_preRoPE"), ("k_proj", "layer0.k_proj_out_preRoPE"), ("v_proj", "layer0.v_proj_out")] {
            let out = try GradMode.disabled { try EngineHooks.denseLinear("model.layers.0.self_attn.\(module)", h) }
            let expected = try floats("hidden_short_sentence/\(file).f32.bin")
            let diff = zip(out.values, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(diff, 1e-4, "\(file): max |Δ| \(diff)")
        }
    }
}

extension SmolLM2ForwardTests {
    /// Every hidden-state dump of short_sentence, captured through the host's observe():
    /// embeddings exact, layer-0 tensors ≤ 1e-4, layer 29 and the final norm ≤ 1e-3 relative to max |x|.
    func testHiddenStateDumpsThroughObserve() throws {
        let model = try model()
        ModelServices.captured = [:]
        ModelServices.capturing = true
        defer { ModelServices.capturing = false; ModelServices.captured = [:] }
        _ = try model.logits([504, 3575, 282, 4649, 314])
        for (name, file, tolerance, relative) in [("embed_tokens", "embed_tokens", Float(0), false), ("layer0.self_attn_out", "layer0.self_attn_out", 1e-4, false),
                                                  ("layer0_out", "layer0_out", 1e-4, false), ("layer29_out", "layer29_out", 1e-3, true),
                                                  ("final_norm_out", "final_norm_out", 1e-3, true)] {
            let got = try XCTUnwrap(ModelServices.captured[name], "\(name) was not observed").values
            let expected = try floats("hidden_short_sentence/\(file).f32.bin")
            XCTAssertEqual(got.count, expected.count, name)
            let diff = zip(got, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            let scale = relative ? expected.reduce(Float(0)) { max($0, abs($1)) } : 1
            print("\(name): max |Δ| = \(diff) (scale \(scale))")
            XCTAssertLessThanOrEqual(diff / scale, tolerance, name)
        }
    }
}
