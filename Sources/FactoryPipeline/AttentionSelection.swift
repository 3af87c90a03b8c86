import FactoryConfig
import FactoryEngine
import FactoryHost

/// Puts the chosen attention kernel behind the engine's attention hook, where every model family's
/// attention() call lands. The plan chose it (`attention_kernel:`, `flash_attn:`, or the highest
/// score); with no kernel plugin the host's reference attention stays.
public enum AttentionSelection {
    /// Installs the kernel of the plan item (role "attention"); returns one line saying what runs.
    @discardableResult
    public static func install(_ item: PlanItem) throws -> String {
        if let problem = item.problem { throw ConfigProblem(problem) }
        guard let component = item.component else {
            uninstall()
            return "attention: the host's reference attention (\(item.detail.isEmpty ? "no kernel plugin" : item.detail))"
        }
        let how = item.detail.isEmpty ? item.request : "\(item.request), \(item.detail)"
        return try install(component, how: how)
    }

    /// Installs `component`'s kernel; `how` says why it was chosen.
    @discardableResult
    public static func install(_ component: Component, how: String = "chosen") throws -> String {
        let kernel = try AttentionKernelInstance(component)
        guard kernel.computes else {
            throw ConfigProblem("attention kernel '\(component.name)' (\(component.file)) only declares itself: it was built for ABI < 1.3, which had no forward/backward")
        }
        EngineHooks.attention = { q, k, v, mask, params in  // the closure keeps the kernel alive while installed
            try kernelAttention(q: q, k: k, v: v, mask: mask, params: params, kernel: kernel)
        }
        return "attention: \(component.name) (\(how); \(kernel.declared.summary)) from \(component.file)"
    }

    /// Chooses by the config (the same rule as the run plan) and installs.
    @discardableResult
    public static func install(_ config: RunConfig, plugins: PluginSet) throws -> String {
        try install(RunPlanner.attentionItem(config, plugins))
    }

    /// Back to the host's reference attention.
    public static func uninstall() {
        EngineHooks.attention = EngineHooks.referenceAttention
    }
}
