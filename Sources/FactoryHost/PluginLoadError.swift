/// A refusal to load a plugin file: one line naming the file and the reason.
public struct PluginLoadError: Error, CustomStringConvertible, Equatable {
    /// The plugin file (as given, or as found in a directory).
    public let file: String
    /// What is wrong, without the file name.
    public let reason: String

    public init(file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "plugin \(file): \(reason)" }
}

/// Two plugins registering the same name for the same kind, at the same priority.
public struct DuplicateComponentError: Error, CustomStringConvertible, Equatable {
    public let kind: PluginKind
    public let name: String
    public let firstFile: String
    public let secondFile: String

    public var description: String {
        "\(kind.rawValue) '\(name)' is registered by both \(firstFile) and \(secondFile); remove one, or pass the one you want with --plugins"
    }
}
