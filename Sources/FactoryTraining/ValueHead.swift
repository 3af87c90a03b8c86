// A reward model's value head, as LLaMA-Factory builds it with TRL's AutoModelForCausalLMWithValueHead:
// dropout (TRL's summary_dropout_prob, 0.1, in training only) then a linear from the last hidden state
// (after the final norm) to one score. The score of a sequence is the value at its last real token.
// Saved beside the adapter or the full weights as value_head.safetensors (v_head.summary.weight [1, H],
// v_head.summary.bias [1]), as LLaMA-Factory's fix_valuehead_checkpoint splits them out.
import FactoryConfig
import FactoryEngine
import FactoryFormats
import FactoryPipeline
import Foundation

/// A reward model's value head (stage rm): its two tensors, their file, and the score it gives a sequence.
public final class ValueHead {
    public static let weightName = "v_head.summary.weight", biasName = "v_head.summary.bias", fileName = "value_head.safetensors"
    /// [1, hidden]
    public let weight: Tensor
    /// [1]
    public let bias: Tensor
    /// The dropout on the hidden state while training (TRL's default 0.1).
    public var dropout: Float = 0.1

    /// A new head, initialised as torch initialises nn.Linear(hidden, 1): weight and bias U(−1/√hidden, 1/√hidden).
    public init(hidden: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0x5641_4C55_4548_4541)  // its own stream, apart from the adapter's
        let bound = 1 / Float(hidden).squareRoot()
        weight = Tensor(shape: [1, hidden], values: (0..<hidden).map { _ in (Float(rng.nextUnit()) * 2 - 1) * bound })
        bias = Tensor(shape: [1], values: [(Float(rng.nextUnit()) * 2 - 1) * bound])
        weight.requiringGrad()
        bias.requiringGrad()
        (weight.name, bias.name) = (Self.weightName, Self.biasName)
    }

    /// The head saved in `directory`, or nil when it has none; refused when it does not fit `hidden`.
    public static func load(from directory: String, hidden: Int) throws -> ValueHead? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try SafetensorsFile(path: path)
        guard let w = file.tensors[weightName], w.shape == [1, hidden], let b = file.tensors[biasName], b.shape == [1] else {
            throw TrainingError("\(path): needs \(weightName) [1, \(hidden)] and \(biasName) [1] for this model")
        }
        let head = ValueHead(hidden: hidden, seed: 0)
        let (wv, bv) = (try file.float32(weightName), try file.float32(biasName))
        wv.withUnsafeBufferPointer { head.weight.data.update(from: $0.baseAddress!, count: hidden) }
        head.bias.data[0] = bv[0]
        return head
    }

    /// Writes value_head.safetensors into `directory`.
    public func save(to directory: String) throws {
        try AdapterFiles.writeTensors([(Self.weightName, weight), (Self.biasName, bias)], to: directory + "/" + Self.fileName)
    }

    /// The score at `positions` (one flattened [rows × seq] index per row) of `hidden` [.., H]: [rows],
    /// differentiable in hidden, weight and bias. `seed`: the dropout mask's, when training.
    public func scores(hidden: Tensor, positions: [Int], seed: UInt64?) -> Tensor {
        let H = weight.shape[1]
        let h = hidden.isContiguous ? hidden : hidden.contiguousCopy()
        let rows = positions.count
        // the dropout mask of each row's hidden state, scaled by 1 / (1 − p) as torch's nn.Dropout does
        var masks = [Float](repeating: 1, count: rows * H)
        if let seed, dropout > 0 {
            var rng = SplitMix64(seed: seed ^ 0x7668_6561_6464_726F)
            let keep = 1 - dropout
            for i in 0..<masks.count { masks[i] = Float(rng.nextUnit()) < dropout ? 0 : 1 / keep }
        }
        var values = [Float](repeating: 0, count: rows)
        for (r, p) in positions.enumerated() {
            var s: Float = 0
            for j in 0..<H { s += h.data[p * H + j] * masks[r * H + j] * weight.data[j] }
            values[r] = s + bias.data[0]
        }
        let out = Tensor(shape: [rows], values: values)
        guard GradMode.isEnabled else { return out }
        let shape = hidden.shape, w = weight
        return recordCustom(out, name: "value_head", inputs: [hidden, weight, bias]) { g in
            let gc = g.contiguous()
            let dh = Tensor(shape: shape, zeroed: true), dw = Tensor(shape: [1, H], zeroed: true)
            var db: Float = 0
            for (r, p) in positions.enumerated() {
                let gr = gc.data[r]
                db += gr
                for j in 0..<H {
                    dh.data[p * H + j] += gr * masks[r * H + j] * w.data[j]
                    dw.data[j] += gr * masks[r * H + j] * h.data[p * H + j]
                }
            }
            return [dh, dw, Tensor(shape: [1], values: [db])]
        }
    }
}

extension ValueHead {
    /// The reward of `ids` under `model` with the linear hook that is installed (an adapter's, when one is
    /// applied): the head's score at the last token, as LLaMA-Factory's reward API computes it.
    public func reward(of ids: [Int], model: LoadedModel) throws -> Float {
        guard !ids.isEmpty else { throw TrainingError("a reward needs at least one token") }
        let previous = EngineHooks.linear
        EngineHooks.linear = { name, x in name == "lm_head" ? self.scores(hidden: x, positions: [ids.count - 1], seed: nil) : try previous(name, x) }
        defer { EngineHooks.linear = previous }
        let out = try GradMode.disabled { try model.forward(ids: ids, batch: 1, seq: ids.count, positions: Array(0..<ids.count), headFused: true) }
        return out.values[0]
    }

    /// The head a reward model keeps beside its weights: value_head.safetensors of the last adapter, else of
    /// the model's directory; refused in one line when there is none.
    public static func forScoring(_ config: RunConfig, model: LoadedModel) throws -> ValueHead {
        guard let hidden = model.description["hf_config"]?["hidden_size"]?.intValue.map(Int.init) else {
            throw TrainingError("the model family reports no hidden_size for a value head")
        }
        let from = config.list("adapter_name_or_path")?.last ?? model.location.path
        guard let head = try load(from: from, hidden: hidden) else {
            throw TrainingError("\(from): no \(fileName); a reward model is trained with stage rm, which saves it beside the adapter or weights")
        }
        head.dropout = 0
        return head
    }
}
