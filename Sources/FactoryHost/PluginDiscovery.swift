#if canImport(Glibc)
import Glibc
#endif

/// Finds plugin files: from --plugins entries, FACTORY_PLUGIN_PATH and the
/// default directory next to the executable. A directory contributes its
/// `*.so` files in name order.
public enum PluginDiscovery {
    /// Files named by the user (`--plugins a.so,dir,...`) or by the environment; directories are expanded.
    public static func expand(_ entries: [String]) throws -> [String] {
        var files: [String] = []
        for entry in entries where !entry.isEmpty {
            if isDirectory(entry) {
                let found = soFiles(in: entry, prefix: nil)
                guard !found.isEmpty else { throw PluginLoadError(file: entry, "a directory with no plugin in it (no *.so file)") }
                files += found
            } else {
                files.append(entry)
            }
        }
        return files
    }

    /// FACTORY_PLUGIN_PATH split on ':'.
    public static func environmentEntries() -> [String] {
        guard let value = getenv("FACTORY_PLUGIN_PATH") else { return [] }
        return String(cString: value).split(separator: ":").map(String.init)
    }

    /// The default plugins: `<exe>/../lib/factory/plugins/*.so` when installed,
    /// else `libFactoryPlugin*.so` beside the executable (a SwiftPM build folder).
    public static func defaultFiles(executable: String = executablePath()) -> [String] {
        let dir = parent(executable)
        let installed = dir + "/../lib/factory/plugins"
        if isDirectory(installed) { return soFiles(in: installed, prefix: nil) }
        return soFiles(in: dir, prefix: "libFactoryPlugin")
    }

    /// The running executable, through /proc/self/exe.
    public static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments.first ?? "." }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func soFiles(in dir: String, prefix: String?) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasSuffix(".so"), prefix.map({ name.hasPrefix($0) }) ?? true else { continue }
            names.append(name)
        }
        return names.sorted().map { dir + "/" + $0 }
    }

    /// The canonical path, used to notice one file named twice.
    static func canonical(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }
}
