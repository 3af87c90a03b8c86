import CFactoryABI

/// The host-services table this plugin received in init(). One per plugin
/// file (each plugin links its own copy of the kit); nil before init() and
/// after the last deinit().
public enum Host {
    nonisolated(unsafe) static var api: UnsafePointer<factory_host_api_t>?
    nonisolated(unsafe) static var pluginPath: String = ""
    /// The error slot of the host call being served; engine calls report into it.
    nonisolated(unsafe) public internal(set) static var currentError: OpaquePointer?

    /// Writes one log line through the host, tagged with `source`. Does nothing before init().
    public static func log(_ level: factory_log_level_code, _ message: String, source: String = "plugin") {
        guard let api, let log = api.pointee.log else { return }
        log(factory_log_level_t(level.rawValue), source, message)
    }

    /// True once the user asked to stop; long loops poll it.
    public static var isCancelled: Bool {
        guard let api, let f = api.pointee.is_cancelled else { return false }
        return f()
    }

    /// True when the host's table is large enough to hold `member` (a field added in a later minor
    /// version): check before calling it. The Swift form of FACTORY_HOST_HAS.
    public static func has<T>(_ member: KeyPath<factory_host_api_t, T>) -> Bool {
        guard let api, let offset = MemoryLayout<factory_host_api_t>.offset(of: member) else { return false }
        return Int(api.pointee.struct_size) >= offset + MemoryLayout<T>.size
    }

    /// Runs `body` over chunks of `grain` items covering 0..<count on the host's engine threads
    /// (ABI 1.3 parallel_for), or serially on an older host. `body` must not call the engine.
    public static func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        guard let api, has(\.parallel_for), let run = api.pointee.parallel_for else {
            var start = 0
            while start < count {
                body(start..<min(count, start + max(grain, 1)))
                start += max(grain, 1)
            }
            return
        }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { p in
                run(Int64(count), Int64(grain), { userdata, begin, end in
                    userdata!.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(Int(begin)..<Int(end))
                }, p)
            }
        }
    }

    /// The ABI version of the host that loaded this plugin.
    public static var abiVersion: factory_version_t? { api?.pointee.abi_version }

    /// The path of the plugin file as the host opened it.
    public static var path: String { pluginPath }

    static func setError(_ err: OpaquePointer?, _ status: factory_status_t, _ message: String) {
        guard let err, let api, let set = api.pointee.error_set else { return }
        set(err, status, message)
    }
}
