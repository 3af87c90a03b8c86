import CFactoryABI

/// One registered component: what its descriptor says, and where it lives.
public struct Component: Sendable {
    public let kind: PluginKind
    public let id: String
    public let name: String
    public let version: String
    public let vendor: String
    public let summary: String
    public let features: [String]
    /// The plugin file that provides it.
    public let file: String
    /// How that file was found.
    public let source: PluginSource
    /// The ABI version the plugin was built with, "1.0.0".
    public let abiVersion: String
    /// The kind's factory table (package: the conformance checker calls it directly).
    nonisolated(unsafe) package let factory: UnsafePointer<factory_factory_t>
}

/// A plugin file that was opened, checked and initialised. The library stays
/// mapped for the life of the process (RTLD_NODELETE); `shutdown()` balances
/// the init() call.
public final class LoadedPlugin {
    public let path: String
    public let source: PluginSource
    public let abiVersion: factory_version_t
    public let buildInfo: String
    public private(set) var components: [Component] = []
    /// The plugin's entry table (package: the conformance checker exercises init/deinit pairs).
    package let entry: UnsafePointer<factory_entry_t>
    private var initialised = false

    init(path: String, source: PluginSource, entry: UnsafePointer<factory_entry_t>) {
        self.path = path
        self.source = source
        self.entry = entry
        self.abiVersion = entry.pointee.abi_version
        self.buildInfo = entry.pointee.build_info.map { String(cString: $0) } ?? ""
    }

    /// "1.0.0".
    public var abiVersionString: String { "\(abiVersion.major).\(abiVersion.minor).\(abiVersion.patch)" }

    /// Calls the plugin's init(); a failure carries the plugin's own message.
    package func initialise() throws {
        guard let initFn = entry.pointee.`init` else { throw PluginLoadError(file: path, "entry table has no init function") }
        let (status, slot) = ErrorSlot.capture { err in initFn(HostServices.table, path, err) }
        guard status == FACTORY_OK.rawValue else {
            throw PluginLoadError(file: path, "init failed: \(slot.describe(status: status))")
        }
        initialised = true
    }

    /// Reads every kind's factory and descriptors, validating them.
    package func enumerate() throws {
        guard let getFactory = entry.pointee.get_factory else { throw PluginLoadError(file: path, "entry table has no get_factory function") }
        var found: [Component] = []
        for kind in PluginKind.allCases {
            guard let factory = getFactory(kind.abiID) else { continue }
            found += try DescriptorReader(file: path, kind: kind, factory: factory, plugin: self).read()
        }
        components = found
    }

    /// Balances init(). Safe to call more than once.
    public func shutdown() {
        guard initialised else { return }
        initialised = false
        entry.pointee.deinit?()
    }
}
