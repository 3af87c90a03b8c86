import CFactoryABI
import FactoryEngine
import FactoryHost
import FactoryJSON

/// The model-family suite of `factory plugins check`: on a tiny random model of the family (a Llama-style
/// config.json with the family's model_type, or the author's own with --model-config), describe() keeps
/// the contract; every parameter maps to itself through map_checkpoint_name; load_weights and a forward
/// give [batch, seq, vocab]; decoding with the KV cache token by token gives the full forward's logits, and
/// so do sequences decoded together at their own positions (forward_rows, when the family has it);
/// a tied checkpoint (no lm_head.weight) shares one tensor between the head and the embeddings.
enum ModelFamilyConformance {
    /// The config.json the suite builds its model from (nil: tinyConfig).
    nonisolated(unsafe) static var modelConfig: JSONObject?

    /// 2 layers, hidden 64, 4 heads of 16, 2 KV heads, vocabulary 96, 64 positions.
    static func tinyConfig(_ c: Component, tied: Bool) -> JSONObject {
        var o = modelConfig ?? JSONObject([
            ("hidden_size", 64), ("intermediate_size", 128), ("num_hidden_layers", 2), ("num_attention_heads", 4), ("num_key_value_heads", 2),
            ("head_dim", 16), ("vocab_size", 96), ("max_position_embeddings", 64), ("rms_norm_eps", 1e-6), ("rope_theta", 10000.0),
        ])
        if modelConfig == nil { o["model_type"] = .string(c.features.first ?? c.name) }
        o["tie_word_embeddings"] = .bool(tied)
        return o
    }

    /// Random weights for every described parameter (linear ±0.1, others 1 ± 0.05: norms near 1), leaving
    /// out `omit`.
    final class RandomCheckpoint: CheckpointSource {
        let parameters: [String: [Int]]
        init(_ d: ModelFamilyDescription, omit: Set<String>) {
            parameters = Dictionary(d.parameters.filter { !omit.contains($0.name) }.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        }
        var format: String { "safetensors" }
        func tensor(_ name: String) throws -> Tensor? {
            guard let shape = parameters[name] else { return nil }
            var state = UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })
            let count = shape.reduce(1, *)
            let values = (0..<count).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let unit = Float(state >> 40) / Float(1 << 24) * 2 - 1
                return shape.count == 1 ? 1 + 0.05 * unit : 0.1 * unit
            }
            return Tensor(shape: shape, values: values)
        }
    }

    /// The family created from the tiny config, its checked description, its loaded parameters.
    static func load(_ c: Component, tied: Bool, omit: Set<String> = []) throws -> (ModelFamilyInstance, ModelFamilyDescription, ParameterStore) {
        let family = try ModelFamilyInstance(c, config: .object(JSONObject([("hf_config", .object(tinyConfig(c, tied: tied)))])))
        let d = try family.checkedDescription()
        let store = ParameterStore()
        try withStore(store) { try family.loadWeights(from: RandomCheckpoint(d, omit: omit)) }
        return (family, d, store)
    }

    static func withStore<T>(_ store: ParameterStore, _ body: () throws -> T) rethrows -> T {
        let previous = ParameterStore.active
        ParameterStore.active = store
        defer { ParameterStore.active = previous }
        return try body()
    }

    static let ids = [5, 17, 3, 42, 8, 77, 1, 23, 64, 9, 30, 2]

    static func describes(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let family = try ModelFamilyInstance(c, config: .object(JSONObject([("hf_config", .object(tinyConfig(c, tied: false)))])))
            let d = try family.checkedDescription()
            let linear = d.parameters.filter(\.linear).count
            return (true, "\(d.parameters.count) parameters (\(linear) linear), vocabulary \(d.vocabSize), kv cache \(d.layers)×\(d.kvHeads)×\(d.headDim)")
        }
    }

    static func namesRoundTrip(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let family = try ModelFamilyInstance(c, config: .object(JSONObject([("hf_config", .object(tinyConfig(c, tied: false)))])))
            let d = try family.checkedDescription()
            for p in d.parameters {
                let mapped = try family.mapCheckpointName(format: "safetensors", name: p.name)
                guard mapped == p.name else { return (false, "map_checkpoint_name(\"safetensors\", \"\(p.name)\") gave \(mapped.map { "\"\($0)\"" } ?? "nothing")") }
            }
            do {
                _ = try family.mapCheckpointName(format: "safetensors", name: "factory.check.no_such_tensor.weight")
                return (false, "an unknown tensor name was accepted: it must be FACTORY_ERR_NOT_FOUND, so the host can refuse a checkpoint with parts the family has no place for")
            } catch let e as PluginCallError where e.status == FACTORY_ERR_NOT_FOUND.rawValue {
                return (true, "\(d.parameters.count) names map to themselves; an unknown name is not found (\(e.message))")
            } catch {
                return (false, "an unknown tensor name must be FACTORY_ERR_NOT_FOUND with a message, got: \(error)")
            }
        }
    }

    static func forwardShape(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let (family, d, store) = try load(c, tied: false)
            let logits = try withStore(store) { try GradMode.disabled { try family.forward(ids: ids + ids, batch: 2, seq: ids.count, positions: Array(0..<ids.count)) } }
            guard logits.shape == [2, ids.count, d.vocabSize] else { return (false, "logits \(logits.shape), expected [2, \(ids.count), \(d.vocabSize)]") }
            guard logits.values.allSatisfy(\.isFinite) else { return (false, "non-finite logits") }
            return (true, "[2, \(ids.count)] ids → \(logits.shape)")
        }
    }

    /// A prefill of 4 tokens, then one token at a time, each step against the same position of one
    /// full forward (≤ 1e-5).
    static func cachedDecoding(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let (family, d, store) = try load(c, tied: false)
            let T = ids.count, V = d.vocabSize
            return try withStore(store) {
                try GradMode.disabled {
                    let full = try family.forward(ids: ids, batch: 1, seq: T, positions: Array(0..<T)).values
                    let cache = KVCache(layers: d.layers, capacity: T)
                    var worst: Float = 0, worstAt = 0
                    var start = 0
                    for end in [4] + Array(5...T) {
                        let step = try family.forward(ids: Array(ids[start..<end]), batch: 1, seq: end - start, positions: Array(start..<end), cache: cache).values
                        for (i, t) in (start..<end).enumerated() {
                            for v in 0..<V {
                                let diff = abs(step[i * V + v] - full[t * V + v])
                                if diff > worst { (worst, worstAt) = (diff, t) }
                            }
                        }
                        start = end
                    }
                    let scale = full.map(abs).max() ?? 0
                    guard worst <= 1e-5 else {
                        return (false, "decoding with the KV cache differs from the full forward by \(worst) at position \(worstAt) (logits up to \(scale))")
                    }
                    return (true, "\(T) tokens (a prefill of 4, then one at a time): max |Δ| \(KindSuites.formatted(Double(worst))) of logits up to \(scale)")
                }
            }
        }
    }

    /// forward_rows (ABI 1.8, optional): three sequences of 3, 7 and 5 tokens, each prefilled alone, then
    /// decoded together for the rest of the ids (rows at different positions, one row leaving when its
    /// ids run out), each step's logits against the full forward of that sequence (≤ 1e-5).
    static func batchedDecoding(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let (family, d, store) = try load(c, tied: false)
            guard family.forwardsRows else { return (true, "no forward_rows (optional): the host decodes this family's sequences one at a time") }
            let V = d.vocabSize, starts = [3, 7, 5]
            let sequences = starts.indices.map { i in Array(ids[i...]) }  // three different sequences
            return try withStore(store) {
                try GradMode.disabled {
                    let full = try sequences.map { s in try family.forward(ids: s, batch: 1, seq: s.count, positions: Array(0..<s.count)).values }
                    let batch = BatchedKVCache(layers: d.layers, kvHeads: d.kvHeads, headDim: d.headDim, maxRows: 3, capacity: 4)
                    var rows = Array(sequences.indices)  // the sequence in each cache row
                    for (i, n) in starts.enumerated() {
                        let cache = KVCache(layers: d.layers, capacity: n)
                        _ = try family.forward(ids: Array(sequences[i][..<n]), batch: 1, seq: n, positions: Array(0..<n), cache: cache)
                        _ = try batch.add(cache)
                    }
                    var worst: Float = 0, steps = 0
                    while !rows.isEmpty {
                        let fed = rows.enumerated().map { r, s in sequences[s][batch.lengths[r]] }
                        let out = try family.decodeRows(ids: fed, seq: 1, cache: batch).values
                        steps += 1
                        for (r, s) in rows.enumerated() {
                            let t = batch.lengths[r] - 1
                            for v in 0..<V { worst = max(worst, abs(out[r * V + v] - full[s][t * V + v])) }
                        }
                        for r in rows.indices.reversed() where batch.lengths[r] == sequences[rows[r]].count {
                            batch.remove(row: r)
                            rows[r] = rows[rows.count - 1]
                            rows.removeLast()
                        }
                    }
                    guard worst <= 1e-5 else { return (false, "decoding rows at different positions together differs from each sequence's full forward by \(worst)") }
                    return (true, "3 sequences decoded together at their own positions (\(steps) steps): max |Δ| \(KindSuites.formatted(Double(worst)))")
                }
            }
        }
    }

    static func tiedHead(_ c: Component) -> Isolation.Outcome {
        KindSuites.outcome {
            let family = try ModelFamilyInstance(c, config: .object(JSONObject([("hf_config", .object(tinyConfig(c, tied: true)))])))
            guard try family.checkedDescription().parameters.contains(where: { $0.name == "lm_head.weight" }) else {
                return (false, "describe() lists no 'lm_head.weight': the host's LM head (and the fused training loss) reads that name")
            }
            let (_, _, store) = try load(c, tied: true, omit: ["lm_head.weight"])
            let shared = store.aliases(of: "lm_head.weight")
            guard shared.count > 1 else {
                return (false, store["lm_head.weight"] == nil ? "a tied checkpoint without lm_head.weight registered no head"
                    : "lm_head.weight is its own tensor: a tied head must be registered as the embeddings' tensor (one handle)")
            }
            return (true, "lm_head.weight is one tensor with \(shared.filter { $0 != "lm_head.weight" }.joined(separator: ", "))")
        }
    }
}
