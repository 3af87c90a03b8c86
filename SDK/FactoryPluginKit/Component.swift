import FactoryJSON

/// What a component says about itself; the kit turns it into a
/// factory_descriptor_t. `name` is the registry key users write in configs.
public struct ComponentDescriptor: Sendable {
    public var id: String
    public var name: String
    public var version: String
    public var vendor: String
    public var summary: String
    public var features: [String]

    public init(id: String, name: String, version: String = "1.0.0", vendor: String = "",
                summary: String = "", features: [String] = []) {
        self.id = id
        self.name = name
        self.version = version
        self.vendor = vendor
        self.summary = summary
        self.features = features
    }
}

/// The common part of the five plugin protocols: a descriptor and an
/// initialiser from the component's JSON config. Instances are used from one
/// thread at a time ([instance]).
public protocol PluginComponent: AnyObject {
    /// The component's descriptor; read once at the plugin's init().
    static var descriptor: ComponentDescriptor { get }
    /// Creates an instance from its config section. Reject unknown keys (ConfigReader does).
    init(config: ConfigReader) throws
}

/// Reads a component's JSON config strictly: typed getters with defaults,
/// and `finish()` rejects every key nobody asked for, naming it.
public final class ConfigReader {
    private var object: JSONObject
    private var seen: Set<String> = []
    /// The component the config is for, used in messages.
    public let component: String

    public init(_ object: JSONObject, component: String) {
        self.object = object
        self.component = component
    }

    /// Replaces the values of `values`' keys (they win over the host's): a method reading a saved
    /// adapter's own config (e.g. PEFT's adapter_config.json) translates it into its keys and applies it.
    public func override(with values: JSONObject) {
        for (key, value) in values.pairs { object[key] = value }
    }

    /// The raw value of `key`, marking it as known.
    public func value(_ key: String) -> JSON? {
        seen.insert(key)
        return object[key]
    }

    public func string(_ key: String, default def: String) throws -> String {
        guard let v = value(key), v != .null else { return def }
        guard let s = v.stringValue else { throw typeError(key, "a string", v) }
        return s
    }

    public func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let v = value(key), v != .null else { return def }
        guard let b = v.boolValue else { throw typeError(key, "a boolean", v) }
        return b
    }

    public func int(_ key: String, default def: Int) throws -> Int {
        guard let v = value(key), v != .null else { return def }
        guard let i = v.intValue, let n = Int(exactly: i) else { throw typeError(key, "an integer", v) }
        return n
    }

    public func double(_ key: String, default def: Double) throws -> Double {
        guard let v = value(key), v != .null else { return def }
        guard let d = v.doubleValue else { throw typeError(key, "a number", v) }
        return d
    }

    /// Accepts the keys the host lists in "shared_keys": a component that receives a shared
    /// section of the run config (a fine-tuning method gets the whole fine-tuning group, keys of
    /// other methods included; the host has already rejected keys no method knows) ignores those.
    /// Any other unknown key still fails finish().
    public func acceptShared() {
        seen.insert("shared_keys")
        for key in object["shared_keys"]?.arrayValue?.compactMap(\.stringValue) ?? [] { seen.insert(key) }
    }

    /// Fails on the first key that no getter asked for.
    public func finish() throws {
        for key in object.keys where !seen.contains(key) {
            let known = seen.sorted().joined(separator: ", ")
            throw PluginError.invalidArgument("\(component): unknown config key '\(key)'" + (known.isEmpty ? " (it takes no keys)" : " (known: \(known))"))
        }
    }

    private func typeError(_ key: String, _ expected: String, _ v: JSON) -> PluginError {
        .invalidArgument("\(component): config key '\(key)' must be \(expected), got \(v.serialized())")
    }
}
