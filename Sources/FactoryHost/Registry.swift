/// The components of one kind, by name: the only place a name becomes a
/// plugin. No caller compares names itself.
public final class Registry {
    public let kind: PluginKind
    private var byName: [String: Component] = [:]
    /// Model families only: model_type / architecture name -> family name, from descriptor features.
    private var byFeature: [String: String] = [:]

    init(kind: PluginKind) { self.kind = kind }

    /// Registers `component`. Returns the component it replaced (from a lower-priority source),
    /// or throws when a component of the same priority already has the name.
    @discardableResult
    func register(_ component: Component) throws -> Component? {
        var replaced: Component?
        if let existing = byName[component.name] {
            guard existing.source < component.source else {
                throw DuplicateComponentError(kind: kind, name: component.name, firstFile: existing.file, secondFile: component.file)
            }
            replaced = existing
        }
        byName[component.name] = component
        if kind == .modelFamily {
            for feature in component.features {
                if let owner = byFeature[feature], owner != component.name, let other = byName[owner], other.source >= component.source {
                    throw DuplicateComponentError(kind: kind, name: feature, firstFile: other.file, secondFile: component.file)
                }
                byFeature[feature] = component.name
            }
        }
        return replaced
    }

    /// All components, by name.
    public var components: [Component] { byName.keys.sorted().map { byName[$0]! } }

    /// Registered names, sorted.
    public var names: [String] { byName.keys.sorted() }

    /// The component named `name`, or nil.
    public func find(_ name: String) -> Component? { byName[name] }

    /// The component named `name`; the error lists what is registered.
    public func lookup(_ name: String) throws -> Component {
        if let c = byName[name] { return c }
        throw RegistryLookupError(kind: kind, name: name, registered: names)
    }

    /// The model family handling `modelType` (a descriptor feature, or the family's own name).
    public func family(forModelType modelType: String) throws -> Component {
        if let name = byFeature[modelType], let c = byName[name] { return c }
        if let c = byName[modelType] { return c }
        throw RegistryLookupError(kind: kind, name: modelType, registered: byFeature.keys.sorted())
    }
}

/// A name nobody registered.
public struct RegistryLookupError: Error, CustomStringConvertible, Equatable {
    public let kind: PluginKind
    public let name: String
    public let registered: [String]

    public var description: String {
        "no \(kind.rawValue) plugin provides '\(name)' (registered: \(registered.isEmpty ? "none" : registered.joined(separator: ", ")))"
    }
}
