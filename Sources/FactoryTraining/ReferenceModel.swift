// The reference model of stages dpo and kto, chosen as LLaMA-Factory's create_ref_model chooses it:
// `ref_model` (with `ref_model_adapters` merged) when the config names one; else, for an adapter that
// leaves every base tensor as it was (LoRA, QLoRA), the policy's own base with the adapter switched off —
// no second copy of the weights; else (full, freeze, or an adapter that also trains base tensors) a frozen
// copy of the model as it was loaded. Reference log-probabilities are computed per micro-batch, without
// gradients and without keeping activations.
import FactoryEngine
import FactoryPipeline

/// Where the reference log-probabilities of stages dpo and kto come from.
public enum ReferenceModel {
    /// The policy's base with the adapter switched off (PEFT's disable_adapter()).
    case adapterOff
    /// A model of its own, never trained: `ref_model`, or a frozen copy of the policy's starting point.
    /// `origin` says which, for the run's log.
    case frozen(LoadedModel, origin: String)

    /// One line for the run's log.
    public var summary: String {
        switch self {
        case .adapterOff: return "reference model: the base with the adapter switched off (no second copy of the weights)"
        case .frozen(let model, let origin): return "reference model: \(origin); \(model.parameterCount) parameters, frozen"
        }
    }
}

extension Trainer {
    /// The log-probability of each row's answer (SequenceLogProbs over `targets`) under the policy, or,
    /// with `reference`, under that reference model. The reference pass belongs in GradMode.disabled.
    func answerLogProbs(_ batch: MicroBatch, _ targets: SequenceTargets, under reference: ReferenceModel? = nil) throws -> Tensor {
        let head: (Tensor, Tensor) throws -> Tensor = { x, w in try SequenceLogProbs.logProbs(hidden: x, weight: w, targets) }
        let positions = Array(0..<batch.seq)
        switch reference {
        case .frozen(let model, _)?:
            let store = model.parameters, previous = EngineHooks.linear
            EngineHooks.linear = { name, x in
                guard name == "lm_head" else { return try EngineHooks.baseLinear(name, x) }
                guard let w = store["lm_head.weight"] ?? store["lm_head"] else { throw HookError("lm_head: the reference model has no head weight") }
                return try head(x, w)
            }
            defer { EngineHooks.linear = previous }
            return try model.forward(ids: batch.ids, batch: batch.batch, seq: batch.seq, positions: positions, mask: nil, headFused: true)
        case .adapterOff?, nil:
            return try adapted.withHooks(fusedHead: head, adapterOff: reference != nil) {
                try adapted.model.forward(ids: batch.ids, batch: batch.batch, seq: batch.seq, positions: positions, mask: nil, headFused: true)
            }
        }
    }
}

extension TrainingObjective {
    /// The same objective comparing with `reference` (stages dpo and kto; the others have none).
    public func with(reference: ReferenceModel) -> TrainingObjective {
        switch self {
        case .preference(var data):
            data.reference = reference
            return .preference(data)
        case .kto(var data):
            data.reference = reference
            return .kto(data)
        case .languageModel, .reward: return self
        }
    }
}
