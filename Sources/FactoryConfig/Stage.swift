/// LLaMA-Factory's training stages (`stage:`), the allowed set of the key in ConfigSchema.
public enum Stage: String, Sendable, CaseIterable {
    /// Pre-training: every token is learned.
    case pt
    /// Supervised fine-tuning.
    case sft
    /// Reward modelling.
    case rm
    case ppo, dpo, kto

    /// The stages `factory run` trains; the others are refused by the plan, naming these.
    public static let implemented: [Stage] = [.pt, .sft, .rm, .dpo, .kto]
    public var isImplemented: Bool { Stage.implemented.contains(self) }
}

extension RunConfig {
    /// The run's stage (LLaMA-Factory's default sft); the schema allows only Stage's names.
    public var stage: Stage { string("stage").flatMap(Stage.init(rawValue:)) ?? .sft }
}

extension RunConfig {
    /// A config `llamafactory-cli export` reads: export_dir set and do_train not (LLaMA-Factory's
    /// merge_lora examples); `factory run` exports it instead of training.
    public var isExportOnly: Bool { string("export_dir") != nil && bool("do_train") != true }
    /// A config that evaluates or predicts without training (`factory run`'s do_eval / do_predict alone):
    /// do_eval or do_predict true, do_train not, no export_dir. LLaMA-Factory's do_train defaults to false;
    /// Factory trains a config that sets none of do_train, do_eval and do_predict.
    public var isEvaluationOnly: Bool { bool("do_train") != true && (bool("do_eval") == true || bool("do_predict") == true) && string("export_dir") == nil }
}
