import CFactoryABI
#if canImport(Glibc)
import Glibc
#endif

/// Opens plugin files: checks that each is a shared library, finds the entry
/// symbol, checks the ABI version and table size, and calls init(). Every
/// refusal is a PluginLoadError naming the file.
public enum PluginLoader {
    /// The size of the ABI 1.0 entry table: the least a plugin may declare.
    static let minimumEntrySize = MemoryLayout<factory_entry_t>.size

    /// Opens `path` and reads its entry table, without calling init().
    public static func open(_ path: String, source: PluginSource) throws -> LoadedPlugin {
        try checkIsSharedLibrary(path)
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw PluginLoadError(file: path, "cannot be loaded: \(why)")
        }
        guard let symbol = dlsym(handle, FACTORY_ENTRY_SYMBOL) else {
            throw PluginLoadError(file: path, "no entry symbol '\(FACTORY_ENTRY_SYMBOL)': not a Factory plugin (build it against SDK/include/factory/factory.h)")
        }
        let entryFn = unsafeBitCast(symbol, to: factory_plugin_entry_fn.self)
        guard let entry = entryFn() else { throw PluginLoadError(file: path, "\(FACTORY_ENTRY_SYMBOL)() returned NULL") }
        let v = entry.pointee.abi_version
        guard factory_version_is_compatible(factory_version_t(major: UInt32(FACTORY_ABI_MAJOR), minor: UInt32(FACTORY_ABI_MINOR),
                                                              patch: UInt32(FACTORY_ABI_PATCH)), v) else {
            throw PluginLoadError(file: path, "built for plugin ABI \(v.major).\(v.minor).\(v.patch), this host speaks ABI \(FACTORY_ABI_MAJOR).\(FACTORY_ABI_MINOR).\(FACTORY_ABI_PATCH) (major versions must match; rebuild the plugin against this SDK)")
        }
        guard Int(entry.pointee.struct_size) >= minimumEntrySize else {
            throw PluginLoadError(file: path, "entry table is \(entry.pointee.struct_size) bytes, ABI \(v.major).\(v.minor) needs at least \(minimumEntrySize)")
        }
        return LoadedPlugin(path: path, source: source, entry: entry)
    }

    /// Opens, initialises and enumerates `path`.
    public static func load(_ path: String, source: PluginSource) throws -> LoadedPlugin {
        let plugin = try open(path, source: source)
        try plugin.initialise()
        do {
            try plugin.enumerate()
        } catch {
            plugin.shutdown()
            throw error
        }
        if plugin.buildInfo.hasPrefix("swift-") && plugin.buildInfo != FactoryVersion.swiftBuild {
            HostServices.log(Int32(FACTORY_LOG_WARNING.rawValue), "loader",
                             "\(path) was built with \(plugin.buildInfo), the host with \(FactoryVersion.swiftBuild); Swift plugins must use the host's toolchain")
        }
        return plugin
    }

    /// Refuses a file that is missing, a directory, or has no ELF header.
    static func checkIsSharedLibrary(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PluginLoadError(file: path, "no such file") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw PluginLoadError(file: path, "not a regular file") }
        guard let f = fopen(path, "rb") else { throw PluginLoadError(file: path, "cannot be read: \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var header = [UInt8](repeating: 0, count: 18)
        let n = fread(&header, 1, header.count, f)
        guard n == header.count, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw PluginLoadError(file: path, "not a shared library (no ELF header)")
        }
        // e_type at offset 16 (little-endian): 3 = ET_DYN (shared object).
        guard header[16] == 3 && header[17] == 0 else {
            throw PluginLoadError(file: path, "not a shared library (an ELF file of another type: build it with -shared)")
        }
    }
}
