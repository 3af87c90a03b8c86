/// LLaMA-Factory's training stages (`stage:`), the allowed set of the key in ConfigSchema.
public enum Stage: String, Sendable, CaseIterable {
    /// Pre-training: every token is learned.
    case pt
    /// Supervised fine-tuning.
    case sft
    /// Reward modelling.
    case rm
    case ppo, dpo, kto
}

extension RunConfig {
    /// The run's stage (LLaMA-Factory's default sft); the schema allows only Stage's names.
    public var stage: Stage { string("stage").flatMap(Stage.init(rawValue:)) ?? .sft }
}
