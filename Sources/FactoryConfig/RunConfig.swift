import FactoryJSON

/// A bad config: one line naming the file (or override), the line, the key and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// A run's configuration: the YAML file's keys, then `key=value` overrides,
/// checked against ConfigSchema. Unset keys are absent; each consumer applies
/// LLaMA-Factory's default where it reads a key.
public struct RunConfig: Equatable {
    /// Set keys and their typed values.
    public private(set) var values: [String: ConfigValue] = [:]
    /// The config file, if any (for messages and relative paths).
    public let file: String?
    /// Where each set key came from: "config.yaml:12", "override 'lora_rank=8'", "--max-new-tokens".
    public private(set) var origins: [String: String] = [:]
    /// One-line notes from UnimplementedKeys and the cross-key rules (what Factory does instead of what a value asks for).
    public private(set) var notes: [String] = []

    public init(file: String? = nil) { self.file = file }

    /// A value given by a command-line flag: the key it sets, its text (read as YAML) and the flag as typed.
    public struct Flag {
        public let key: String, text: String, origin: String
        public init(key: String, text: String, origin: String) { (self.key, self.text, self.origin) = (key, text, origin) }
    }

    /// Reads `path` (YAML, a mapping at the top), then applies `overrides` ("key=value") and `flags`, then
    /// checks the keys Factory does not implement (refused, or noted) and the cross-key rules: every value
    /// is in range, and none is accepted and ignored, before any command goes on to load a model.
    public static func load(file path: String?, overrides: [String] = [], flags: [Flag] = []) throws -> RunConfig {
        var config = RunConfig(file: path)
        if let path {
            let root: YAMLNode?
            do { root = try YAMLReader.read(file: path) } catch let e as YAMLError { throw ConfigError(message: e.description) }
            switch root {
            case nil: break
            case .mapping(let entries, _)?:
                for entry in entries { try config.set(entry.key, entry.value, origin: "\(path):\(entry.line)") }
            case let other?:
                throw ConfigError(message: "\(path):\(other.line): the config must be a mapping of keys to values")
            }
        }
        for override in overrides { try config.apply(override: override) }
        for flag in flags { try config.apply(key: flag.key, text: flag.text, origin: flag.origin) }
        config.notes = try UnimplementedKeys.check(config) + CrossKeyRules.check(config)
        return config
    }

    /// Applies one "key=value" override; the value is read as YAML (so `a,b` and `[a, b]` are lists, `1e-4` a number).
    public mutating func apply(override: String) throws {
        guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
            throw ConfigError(message: "override '\(override)': expected key=value")
        }
        try apply(key: String(override[..<eq]), text: String(override[override.index(after: eq)...]), origin: "override '\(override)'")
    }

    /// Sets `key` from `text` read as YAML; `origin` names where it came from in messages.
    public mutating func apply(key: String, text: String, origin: String) throws {
        let node: YAMLNode
        do {
            node = try YAMLReader.read(text: text, source: origin) ?? .scalar("", plain: true, line: 1)
        } catch {
            node = .scalar(text, plain: false, line: 1)
        }
        try set(key, node, origin: origin)
    }

    /// Sets `key` from a YAML node after checking the key, the type and the key's rule.
    mutating func set(_ key: String, _ node: YAMLNode, origin: String) throws {
        guard let spec = ConfigSchema.keys[key] else {
            let hint = ConfigSchema.nearest(to: key).map { " (did you mean '\($0)'?)" } ?? " (`factory config keys` lists the known keys)"
            throw ConfigError(message: "\(origin): unknown key '\(key)'\(hint)")
        }
        let value: ConfigValue?
        do {
            value = try ConfigValue.convert(node, to: spec.type)
        } catch {
            if error.isOutOfRangeNumber {  // digits too long for an Int, or a number past Double's range
                throw ConfigError(message: "\(origin) \(key): \(error.gotDescription.dropFirst().dropLast()) is out of range (expected \(spec.rule?.expectation ?? spec.type.rawValue))")
            }
            throw ConfigError(message: "\(origin): '\(key)' expects \(spec.type.rawValue), got \(error.gotDescription)")
        }
        if let rule = spec.rule, let value, let problem = rule.violation(value) {
            throw ConfigError(message: "\(origin) \(key): \(problem) (expected \(rule.expectation))")
        }
        values[key] = value
        origins[key] = value == nil ? nil : origin
    }

    /// Where `key` was set ("config.yaml:12"), or "(default)" when it was not.
    public func origin(of key: String) -> String { origins[key] ?? "(default)" }

    /// Sets a value directly (for tests and for commands that fill keys themselves); no rule is checked.
    public mutating func set(_ key: String, _ value: ConfigValue?) {
        values[key] = value
        origins[key] = value == nil ? nil : "set by Factory"
    }

    public func string(_ key: String) -> String? {
        if case .string(let s)? = values[key] { return s }
        return nil
    }

    public func int(_ key: String) -> Int? {
        if case .int(let i)? = values[key] { return i }
        return nil
    }

    public func double(_ key: String) -> Double? {
        switch values[key] {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = values[key] { return b }
        return nil
    }

    /// Any value, as it was given (a key of type any: a mapping, say).
    public func value(_ key: String) -> ConfigValue? { values[key] }

    public func list(_ key: String) -> [String]? {
        if case .list(let l)? = values[key] { return l }
        return nil
    }

    /// Set keys, sorted.
    public var keys: [String] { values.keys.sorted() }
}
