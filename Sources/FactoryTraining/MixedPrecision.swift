// `bf16: true` (and LLaMA-Factory's `pure_bf16`) for a training run: bf16 products with fp32 accumulation,
// as torch's autocast runs them, where the CPU multiplies bf16 natively (AVX512_BF16 or AMX-BF16).
// Elsewhere oneDNN can only emulate bf16, slower than float32, so the run says so in one line and trains in
// float32 — unless FACTORY_BF16=emulate asks for bf16 anyway (to check results on any machine);
// FACTORY_BF16=off trains in float32 on a bf16 machine (to compare both on one).
import FactoryConfig
import FactoryEngine
import Foundation

public enum MixedPrecision {
    /// What FACTORY_BF16 may say.
    enum Override: String { case emulate, off }

    /// bf16 products for a run of `adapted` in `context`: the parameters nothing trains (none sharing a trained
    /// tensor's storage) are the ones rounded once and kept.
    public static func products(for adapted: AdaptedModel, in context: ExecutionContext, warn: @escaping @Sendable (String) -> Void) -> BF16Products {
        let trainable = Set(adapted.trainable.map { ObjectIdentifier($0.tensor.storage) })
        let frozen = context.parameters.names.compactMap { context.parameters[$0] }
            .filter { !$0.requiresGrad && !trainable.contains(ObjectIdentifier($0.storage)) }
        return BF16Products(frozen: frozen, warn: warn)
    }

    /// Gives `context` bf16 products when the config asks for bf16 and the CPU or FACTORY_BF16 allows it,
    /// with the run's frozen parameters copied to bf16 once. Returns the line that says what the run does,
    /// or nil when neither the config nor the environment mentions bf16.
    static func configure(_ context: ExecutionContext, _ config: RunConfig, adapted: AdaptedModel,
                          environment: [String: String] = ProcessInfo.processInfo.environment, native: Bool = BF16Products.native,
                          warn: @escaping @Sendable (String) -> Void) throws -> String? {
        let pure = config.bool("pure_bf16") ?? false
        let asked = (config.bool("bf16") ?? false) || pure
        var override: Override?
        if let text = environment["FACTORY_BF16"], !text.isEmpty {
            guard let value = Override(rawValue: text.lowercased()) else {
                throw TrainingError("FACTORY_BF16=\(text): set emulate (bf16 even where the CPU only emulates it) or off (float32), or leave it unset")
            }
            override = value
        }
        guard asked else {
            return override.map { "FACTORY_BF16=\($0.rawValue) has no effect: the config does not set bf16: true" }
        }
        let float32Rest = "weights, gradients, optimizer state, norms, softmax, attention and the loss in float32"
            + (pure ? " (pure_bf16: Factory keeps float32 master weights and optimizer state, as for bf16: true)" : "")
        switch (native, override) {
        case (_, .off?):
            return "bf16: FACTORY_BF16=off, so this run trains in float32"
        case (true, _), (false, .emulate?):
            context.bf16 = products(for: adapted, in: context, warn: warn)
            return native
                ? "bf16: matrix products in bf16 with float32 accumulation (oneDNN, native on this CPU); \(float32Rest)"
                : "bf16: emulated by oneDNN (this CPU has no AVX512_BF16 or AMX; FACTORY_BF16=emulate), slower than float32: matrix products in bf16 with float32 accumulation; \(float32Rest)"
        case (false, nil):
            return "bf16: this CPU has no AVX512_BF16 or AMX, where oneDNN only emulates bf16 (slower than float32), so this run trains in float32; FACTORY_BF16=emulate forces bf16"
        }
    }
}
