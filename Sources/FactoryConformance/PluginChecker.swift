import FactoryHost
import CFactoryABI
import FactoryJSON

/// `factory plugins check FILE.so`: the conformance suite a third-party
/// author runs before shipping (after clap-validator and pluginval). ABI
/// rules for every plugin, then each kind's own suite; every probe that
/// calls plugin code runs isolated, so a trap is a failure, not a crash.
public enum PluginChecker {
    /// One probe's verdict.
    public struct Result: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
    }

    public static func check(file: String) -> [Result] {
        var results: [Result] = []
        func record(_ name: String, _ outcome: Isolation.Outcome) {
            results.append(Result(name: name, passed: outcome.passed, detail: outcome.detail))
        }
        let loadOutcome = Isolation.run {
            do {
                let p = try PluginLoader.load(file, source: .explicit)
                return .init(passed: true, detail: "ABI \(p.abiVersionString), built with \(p.buildInfo.isEmpty ? "(unspecified)" : p.buildInfo), \(p.components.count) component(s)")
            } catch { return .init(passed: false, detail: "\(error)") }
        }
        record("loads: entry symbol, ABI version, init, descriptors", loadOutcome)
        guard loadOutcome.passed, let plugin = try? PluginLoader.load(file, source: .explicit) else { return results }
        defer { plugin.shutdown() }

        record("init is reference-counted and idempotent", Isolation.run { initIdempotence(plugin) })
        for component in plugin.components {
            let label = "\(component.kind.rawValue) '\(component.name)'"
            record("\(label): unknown name is an error", Isolation.run { expectCreateFailure(component, name: "factory-check-no-such-component", config: "{}") })
            record("\(label): malformed JSON config is an error", Isolation.run { expectCreateFailure(component, name: component.name, config: "{") })
            record("\(label): unknown config key is an error", Isolation.run {
                expectCreateFailure(component, name: component.name, config: "{\"factory_check_unknown_key\": 1}")
            })
            for (name, probe) in KindSuites.probes(for: component.kind) {
                record("\(label): \(name)", KindSuites.runsInProcess(component.kind) ? probe(component) : Isolation.run { probe(component) })
            }
        }
        return results
    }

    static func initIdempotence(_ plugin: LoadedPlugin) -> Isolation.Outcome {
        let before = plugin.components.map { "\($0.kind.rawValue)/\($0.name)/\($0.id)" }
        do {
            try plugin.initialise()            // refcount 2
            try plugin.enumerate()
            plugin.entry.pointee.deinit?()     // back to 1: must stay usable
            try plugin.enumerate()
            let after = plugin.components.map { "\($0.kind.rawValue)/\($0.name)/\($0.id)" }
            guard before == after else { return .init(passed: false, detail: "components changed after a second init(): \(before) vs \(after)") }
            plugin.entry.pointee.deinit?()     // 0: released
            try plugin.initialise()            // and again from scratch
            try plugin.enumerate()
            let again = plugin.components.map { "\($0.kind.rawValue)/\($0.name)/\($0.id)" }
            guard before == again else { return .init(passed: false, detail: "components changed after deinit() + init(): \(before) vs \(again)") }
            return .init(passed: true, detail: "init twice, deinit, deinit, init: same \(before.count) component(s)")
        } catch {
            return .init(passed: false, detail: "\(error)")
        }
    }

    static func expectCreateFailure(_ component: Component, name: String, config: String) -> Isolation.Outcome {
        guard let create = component.factory.pointee.create else { return .init(passed: false, detail: "factory has no create()") }
        let (instance, slot) = ErrorSlot.capture { err in config.withCString { create(name, $0, UInt64(config.utf8.count), err) } }
        if let instance {
            instance.pointee.destroy?(instance)
            return .init(passed: false, detail: "create(\"\(name)\", \(config)) succeeded; it must fail with a status and a message")
        }
        guard slot.status < 0, let message = slot.message, !message.isEmpty else {
            return .init(passed: false, detail: "create failed without a negative status and a message (status \(slot.status))")
        }
        return .init(passed: true, detail: message)
    }
}
