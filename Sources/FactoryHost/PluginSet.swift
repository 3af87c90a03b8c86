/// All loaded plugins and one registry per kind: what a command works with.
/// Loading goes from the lowest-priority source to the highest; a
/// higher-priority file may override a name from a lower one (noted in
/// `notices`), two files of the same priority may not.
public final class PluginSet {
    public private(set) var plugins: [LoadedPlugin] = []
    public private(set) var registries: [PluginKind: Registry] = [:]
    /// Overrides and other things the user should read.
    public private(set) var notices: [String] = []

    public init() {
        for kind in PluginKind.allCases { registries[kind] = Registry(kind: kind) }
    }

    /// Loads the default directory (unless `includeDefaults` is false), FACTORY_PLUGIN_PATH and `explicit`.
    public static func load(explicit: [String], includeDefaults: Bool = true, includeEnvironment: Bool = true) throws -> PluginSet {
        let set = PluginSet()
        if includeDefaults { try set.add(files: PluginDiscovery.defaultFiles(), source: .defaultDirectory) }
        if includeEnvironment { try set.add(files: PluginDiscovery.expand(PluginDiscovery.environmentEntries()), source: .environment) }
        try set.add(files: PluginDiscovery.expand(explicit), source: .explicit)
        return set
    }

    /// Loads `files` from `source` and registers their components.
    public func add(files: [String], source: PluginSource) throws {
        for file in files {
            let canonical = PluginDiscovery.canonical(file)
            if let earlier = plugins.first(where: { PluginDiscovery.canonical($0.path) == canonical }) {
                if earlier.source < source { notices.append("\(file) is also in the \(earlier.source); loaded once") }
                continue
            }
            let plugin = try PluginLoader.load(file, source: source)
            plugins.append(plugin)
            for component in plugin.components {
                if let replaced = try registries[component.kind]!.register(component) {
                    notices.append("\(component.file) (\(component.source)) overrides \(component.kind.rawValue) '\(component.name)' from \(replaced.file) (\(replaced.source))")
                }
            }
        }
    }

    /// The registry of one kind.
    public func registry(_ kind: PluginKind) -> Registry { registries[kind]! }

    /// Every registered component, by kind then name.
    public var components: [Component] {
        PluginKind.allCases.flatMap { registry($0).components }
    }

    /// Balances every init().
    public func shutdown() {
        for p in plugins.reversed() { p.shutdown() }
    }
}
