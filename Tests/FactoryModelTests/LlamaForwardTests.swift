import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation
import XCTest

/// The llama family plugin, loaded from the build folder like any plugin,
/// against the tiny fixtures (safetensors and three GGUF variants) and SmolLM2.
final class LlamaForwardTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    nonisolated(unsafe) static var plugins: PluginSet?

    func plugins() throws -> PluginSet {
        if let p = Self.plugins { return p }
        let p = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        Self.plugins = p
        return p
    }

    func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + relative))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func json(_ relative: String) throws -> JSON {
        try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + relative))))
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func checkTiny(model path: String, reference: JSON, directory: String, tolerance: Float = 1e-4) throws {
        let model = try LoadedModel.load(path, plugins: try plugins())
        let cases = reference["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 2, "reference cases of \(path)")
        for c in cases {
            let ids = (c["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let expected = try floats(directory + "/" + (c["logits"]?["file"]?.stringValue ?? ""))
            let logits = try model.logits(ids)
            XCTAssertEqual(logits.shape, [ids.count, 512])
            XCTAssertEqual(expected.count, ids.count * 512)
            let diff = maxAbsDiff(logits.values, expected)
            print("\(URL(fileURLWithPath: path).lastPathComponent) seq \(c["seq"]?.intValue ?? -1): max |Δ logits| = \(diff)")
            XCTAssertLessThanOrEqual(diff, tolerance, "\(path) seq \(c["seq"]?.intValue ?? -1): max |Δ logits| \(diff)")
        }
    }

    func testTinyLlamaFromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/llama", reference: try json("tiny/llama/reference.json"), directory: "tiny/llama")
    }

    func testTinyLlamaFromGGUFInF32F16AndQ4_1() throws {
        let reference = try json("tiny/llama_gguf/reference.json")
        for file in ["tiny-llama-f32.gguf", "tiny-llama-f16.gguf", "tiny-llama-q4_1.gguf"] {
            let ref = try XCTUnwrap(reference["files"]?[file])
            try checkTiny(model: Self.fixtures + "/tiny/llama_gguf/" + file, reference: ref, directory: "tiny/llama_gguf")
        }
    }
}

extension LlamaForwardTests {
    /// Qwen2 (q/k/v biases, tied embeddings) from its own plugin.
    func testTinyQwen2FromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/qwen2", reference: try json("tiny/qwen2/reference.json"), directory: "tiny/qwen2")
    }

    /// Qwen3 (per-head q/k RMSNorm, no biases, tied embeddings) from its own plugin.
    func testTinyQwen3FromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/qwen3", reference: try json("tiny/qwen3/reference.json"), directory: "tiny/qwen3")
    }

    /// Gemma (√hidden-scaled embeddings, (1 + w) RMSNorm, GeGLU, tied embeddings) from its own plugin.
    func testTinyGemmaFromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/gemma", reference: try json("tiny/gemma/reference.json"), directory: "tiny/gemma")
    }

    /// Gemma 2 (pre/post norms, query_pre_attn_scalar ≠ head_dim, attention and final soft caps that bite,
    /// layer_types) from its own plugin.
    func testTinyGemma2FromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/gemma2", reference: try json("tiny/gemma2/reference.json"), directory: "tiny/gemma2")
    }

    /// Gemma 3 (q/k (1 + w) norms, a sliding layer with its own RoPE base beside a full layer with linear
    /// scaling; a tiny model made by Fixtures/tiny_gemma3/generate.py, as the shared ones were) from its own plugin.
    func testTinyGemma3FromSafetensors() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/tiny_gemma3"
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: here + "/reference.json"))))
        let model = try LoadedModel.load(here, plugins: try plugins())
        for c in reference["cases"]?.arrayValue ?? [] {
            let ids = (c["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let data = try Data(contentsOf: URL(fileURLWithPath: here + "/" + (c["logits"]?["file"]?.stringValue ?? "")))
            let expected = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let logits = try model.logits(ids).values
            XCTAssertEqual(logits.count, expected.count)
            let diff = maxAbsDiff(logits, expected)
            print("gemma3 seq \(c["seq"]?.intValue ?? -1): max |Δ logits| = \(diff)")
            XCTAssertLessThanOrEqual(diff, 1e-4)
            XCTAssertEqual(try model.score(ids).loss, c["loss"]?.doubleValue ?? .nan, accuracy: 1e-5)
        }
        XCTAssertEqual(reference["cases"]?.arrayValue?.count, 2)
    }

    /// Phi-3 (fused qkv and gate_up projections, untied) from its own plugin.
    func testTinyPhi3FromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/phi3", reference: try json("tiny/phi3/reference.json"), directory: "tiny/phi3")
    }

    /// Mistral (the Llama decoder with an optional sliding window; the fixture sets none) from its own plugin.
    func testTinyMistralFromSafetensors() throws {
        try checkTiny(model: Self.fixtures + "/tiny/mistral", reference: try json("tiny/mistral/reference.json"), directory: "tiny/mistral")
    }
}

extension LlamaForwardTests {
    /// Sampling: top_k 1 is greedy; a seed reproduces a run; the repetition penalty changes the choice.
    func testSamplingOptions() throws {
        let model = try LoadedModel.load(Self.fixtures + "/tiny/llama", plugins: try plugins())
        let generator = Generator(model: model)
        let prompt = [342, 223, 361, 460]
        var greedy = SamplingOptions()
        greedy.doSample = false
        greedy.maxNewTokens = 12
        greedy.ignoreEOS = true
        let reference = try generator.generate(prompt: prompt, options: greedy, stopIDs: [])
        var topOne = greedy
        topOne.doSample = true
        topOne.topK = 1
        XCTAssertEqual(try generator.generate(prompt: prompt, options: topOne, stopIDs: []), reference)
        var sampled = greedy
        sampled.doSample = true
        sampled.temperature = 1.5
        sampled.topP = 1
        sampled.topK = 0
        let a = try generator.generate(prompt: prompt, options: sampled, stopIDs: [])
        XCTAssertEqual(try generator.generate(prompt: prompt, options: sampled, stopIDs: []), a, "same seed, same tokens")
        var other = sampled
        other.seed = 7
        XCTAssertNotEqual(try generator.generate(prompt: prompt, options: other, stopIDs: []), a, "another seed, other tokens")
        var penalised = greedy
        penalised.doSample = true
        penalised.topK = 1
        penalised.repetitionPenalty = 100
        let p = try generator.generate(prompt: prompt, options: penalised, stopIDs: [])
        XCTAssertEqual(Set(p).count, p.count, "a huge repetition penalty never repeats a token: \(p)")
        XCTAssertTrue(Set(p).isDisjoint(with: prompt))
        // transformers applies the penalty in greedy decoding too: the same tokens as top_k 1
        var greedyPenalised = greedy
        greedyPenalised.repetitionPenalty = 100
        XCTAssertEqual(try generator.generate(prompt: prompt, options: greedyPenalised, stopIDs: []), p)
        XCTAssertNotEqual(p, reference, "the penalty changes this greedy continuation")
    }
}

extension LlamaForwardTests {
    /// Sliding windows that bite, every RoPE scaling, a partial rotary dimension: the tiny models with
    /// config overrides (Fixtures/config_variants/generate.py) against transformers' loss.
    func testConfigVariantsMatchTransformers() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/config_variants"
        let reference = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: here + "/reference.json"))))
        let cases = reference["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 17)
        var losses: [String: [Double]] = [:]
        for (n, c) in cases.enumerated() {
            let family = c["family"]?.stringValue ?? "", ids = (c["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let source = family == "gemma3" ? here + "/../tiny_gemma3" : Self.fixtures + "/tiny/" + family
            var config = try XCTUnwrap(try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "/config.json")))).objectValue)
            let dir = NSTemporaryDirectory() + "factory-config-variant-\(getpid())-\(n)"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for file in ["model.safetensors", "tokenizer.json"] { try FileManager.default.copyItem(atPath: source + "/" + file, toPath: dir + "/" + file) }
            for (key, value) in c["overrides"]?.objectValue?.pairs ?? [] { config[key] = value }
            try Data(JSON.object(config).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
            let loss = try LoadedModel.load(dir, plugins: try plugins()).score(ids).loss
            XCTAssertEqual(loss, c["loss"]?.doubleValue ?? .nan, accuracy: 1e-5, "\(family) \(c["overrides"] ?? .null)")
            losses[family, default: []].append(loss)
            if c["overrides"]?["rope_parameters"] != nil {  // each scaling moves the loss away from plain RoPE's
                let plain = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "/reference.json"))))["cases"]?.arrayValue?.first?["loss"]?.doubleValue ?? .nan
                XCTAssertGreaterThan(abs(loss - plain), 1e-3, "\(family) \(c["overrides"] ?? .null) differs from plain RoPE")
            }
        }
        XCTAssertGreaterThan(abs((losses["mistral"]?[1] ?? 0) - (losses["mistral"]?[0] ?? 0)), 0.1, "a window of 4 changes Mistral's loss")
        XCTAssertGreaterThan(abs((losses["gemma2"]?[0] ?? 0) - (losses["gemma2"]?[2] ?? 0)), 0.02, "a window of 4 on layer 0 changes Gemma 2's")
        XCTAssertGreaterThan(abs((losses["gemma2"]?[0] ?? 0) - (losses["gemma2"]?[1] ?? 0)), 0.1, "which layer slides matters")
    }
}

extension LlamaForwardTests {
    /// RoPE scaling as llama.cpp stores it in GGUF (Fixtures/gguf_rope/generate.py): Llama 3.1's as a
    /// rope_freqs.weight tensor, YaRN and linear as rope.scaling.* keys; each scores as transformers
    /// scores the same weights with that scaling in config.json (the config_variants references).
    func testGGUFRopeScalingMatchesTransformers() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures"
        let variants = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: here + "/config_variants/reference.json"))))
        let plain = try LoadedModel.load(Self.fixtures + "/tiny/llama_gguf/tiny-llama-f32.gguf", plugins: try plugins())
        for (file, type) in [("tiny-llama3-rope.gguf", "llama3"), ("tiny-yarn-rope.gguf", "yarn"), ("tiny-linear-rope.gguf", "linear")] {
            let c = try XCTUnwrap(variants["cases"]?.arrayValue?.first {
                $0["family"]?.stringValue == "llama" && $0["overrides"]?["rope_parameters"]?["rope_type"]?.stringValue == type
            }, type)
            let ids = (c["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let loss = try LoadedModel.load(here + "/gguf_rope/" + file, plugins: try plugins()).score(ids).loss
            XCTAssertEqual(loss, c["loss"]?.doubleValue ?? .nan, accuracy: 1e-5, file)
            XCTAssertGreaterThan(abs(loss - (try plain.score(ids).loss)), 1e-3, "\(file): the scaling is applied")
        }
    }
}

extension LlamaForwardTests {
    /// Every family's tiny model as a GGUF file written the way llama.cpp's converter writes it
    /// (Fixtures/tiny_gguf/generate.py: gguf-py's tensor names, Gemma's norms + 1, the converter's keys)
    /// scores as transformers scores the same weights: the shared references, and for Gemma 2 and 3 the
    /// config_variants case with query_pre_attn_scalar = head_dim, the scale llama.cpp assumes; a Phi-3 with
    /// LongRoPE's factors as tensors, the config_variants case past its original length.
    func testEveryFamilyLoadsFromGGUF() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures"
        let variants = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: here + "/config_variants/reference.json"))))
        for family in ["qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "phi3-longrope"] {
            let expected: JSON?
            if family == "phi3-longrope" {  // LongRoPE's factors as tensors: the config_variants case past its original length
                expected = variants["cases"]?.arrayValue?.first { $0["family"]?.stringValue == "phi3" && $0["overrides"]?["original_max_position_embeddings"]?.intValue == 16 }
            } else if ["gemma2", "gemma3"].contains(family) {
                expected = variants["cases"]?.arrayValue?.first { $0["family"]?.stringValue == family && $0["overrides"]?["query_pre_attn_scalar"] != nil }
            } else {
                expected = try json("tiny/\(family)/reference.json")["cases"]?.arrayValue?.first
            }
            let c = try XCTUnwrap(expected, family)
            let ids = (c["ids"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
            let model = try LoadedModel.load(here + "/tiny_gguf/tiny-\(family).gguf", plugins: try plugins())
            XCTAssertEqual(try model.score(ids).loss, c["loss"]?.doubleValue ?? .nan, accuracy: 1e-5, family)
            // a GGUF states a tied head only by lacking output.weight; the config.json a fine-tune saves says it
            let source = family == "gemma3" ? here + "/tiny_gemma3" : Self.fixtures + "/tiny/" + (family.split(separator: "-").first.map(String.init) ?? family)
            let tied = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "/config.json"))))["tie_word_embeddings"]?.boolValue
            XCTAssertEqual(model.description["hf_config"]?["tie_word_embeddings"]?.boolValue, tied ?? false, "\(family): tie_word_embeddings")
        }
    }
}

extension LlamaForwardTests {
    /// Inference on a GGUF decodes from the file's own blocks (the tiny Llama's output.weight is Q8_0, its
    /// other linears Q4_1; q and k, reordered on load, take the file's rows in the loaded order): the same
    /// greedy tokens as fp32, decode-step logits within 1e-4 with exact products and within the 8-bit
    /// inputs' error with the default ones, and many-row inputs still on the fp32 weights (bit for bit).
    func testAGGUFDecodesFromItsOwnBlocks() throws {
        let file = Self.fixtures + "/tiny/llama_gguf/tiny-llama-q4_1.gguf"
        let dense = try LoadedModel.load(file, plugins: try plugins())
        let packed = try LoadedModel.load(file, plugins: try plugins(), fileBlocks: true)
        XCTAssertNil(dense.fileBlocksReport)
        XCTAssertTrue(packed.fileBlocksReport?.contains("weights from the file's own q4_1/q8_0 blocks") ?? false, packed.fileBlocksReport ?? "nil")
        XCTAssertTrue(packed.fileBlocksReport?.contains("with their rows in the loaded order") ?? false, packed.fileBlocksReport ?? "nil")
        XCTAssertNotNil(packed.parameters.packed["lm_head.weight"])
        XCTAssertNotNil(packed.parameters.packed["model.layers.0.mlp.down_proj.weight"])
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight"] {
            let reordered = try XCTUnwrap(packed.parameters.packed[name], "\(name): the file's rows in the loaded order")
            let loaded = try XCTUnwrap(dense.parameters[name])
            XCTAssertEqual(try reordered.unpacked().values.map(\.bitPattern), loaded.values.map(\.bitPattern), "\(name) unpacks to the loaded weight")
        }
        let before = PackedWeight.roundsInputsTo8Bits
        defer { PackedWeight.roundsInputsTo8Bits = before }
        var greedy = SamplingOptions()
        (greedy.doSample, greedy.maxNewTokens, greedy.ignoreEOS) = (false, 12, true)
        let prompt = [342, 223, 361, 460]
        // one decode step (a single row: the packed product) against the fp32 head
        func step(_ m: LoadedModel) throws -> [Float] {
            let cache = KVCache(layers: m.layers, capacity: 8)
            _ = try GradMode.disabled { try m.forward(ids: prompt, batch: 1, seq: 4, positions: Array(0..<4), cache: cache) }
            return try GradMode.disabled { try m.forward(ids: [77], batch: 1, seq: 1, positions: [4], cache: cache) }.values
        }
        let reference = try step(dense)
        var errors: [Bool: Float] = [:]
        for int8 in [false, true] {
            PackedWeight.roundsInputsTo8Bits = int8
            XCTAssertEqual(try Generator(model: packed).generate(prompt: prompt, options: greedy, stopIDs: []),
                           try Generator(model: dense).generate(prompt: prompt, options: greedy, stopIDs: []), "int8 inputs: \(int8)")
            let a = try step(packed)
            XCTAssertEqual(a.count, 512)
            errors[int8] = zip(a, reference).map { abs($0 - $1) }.max() ?? .infinity
        }
        XCTAssertLessThanOrEqual(errors[false]!, 1e-4, "exact products")
        // 8-bit inputs move each product by about 1%: the logits by a few percent of their spread at most
        let spread = (reference.max() ?? 0) - (reference.min() ?? 0)
        XCTAssertLessThanOrEqual(errors[true]!, 0.03 * spread, "8-bit inputs, logits spanning \(spread)")
        XCTAssertGreaterThan(errors[true]!, errors[false]!, "the 8-bit products ran")
        // more rows than PackedWeight.directRows: the fp32 twin, bit for bit
        let long = Array(repeating: prompt, count: 3).flatMap { $0 }
        XCTAssertGreaterThan(long.count, PackedWeight.directRows)
        let (x, y) = (try packed.logits(long).values, try dense.logits(long).values)
        XCTAssertEqual(zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count, 0, "many rows: the fp32 weight, bit for bit")
    }
}
