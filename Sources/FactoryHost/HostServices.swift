import CFactoryABI
#if canImport(Glibc)
import Glibc
#endif

/// The error slot behind a `factory_error_t *`: the host creates one per
/// fallible call, the plugin fills it through error_set(), the host reads it.
package final class ErrorSlot {
    package var status: factory_status_t = 0
    package var message: String?

    /// Runs `body` with a fresh slot's C handle and returns the slot.
    package static func capture<T>(_ body: (OpaquePointer) -> T) -> (T, ErrorSlot) {
        let slot = ErrorSlot()
        let handle = OpaquePointer(Unmanaged.passUnretained(slot).toOpaque())
        let result = withExtendedLifetime(slot) { body(handle) }
        return (result, slot)
    }

    /// The plugin's message, or a placeholder naming the status when it gave none.
    package func describe(status: factory_status_t) -> String {
        if let message, !message.isEmpty { return message }
        return "status \(status) (\(HostServices.statusName(status))) with no message"
    }
}

/// The host-services table handed to every plugin's init(). One static table
/// for the whole process; its functions are thread-safe.
public enum HostServices {
    /// Minimum severity printed to stderr (FACTORY_LOG_LEVEL=debug|info|warning|error).
    nonisolated(unsafe) public static var minimumLogLevel: Int32 = 1
    nonisolated(unsafe) static var cancelled = false

    /// The table; allocated once, never freed.
    public static let table: UnsafePointer<factory_host_api_t> = {
        let t = UnsafeMutablePointer<factory_host_api_t>.allocate(capacity: 1)
        var api = factory_host_api_t()
        api.abi_version = factory_version_t(major: UInt32(FACTORY_ABI_MAJOR), minor: UInt32(FACTORY_ABI_MINOR), patch: UInt32(FACTORY_ABI_PATCH))
        api.struct_size = UInt32(MemoryLayout<factory_host_api_t>.size)
        api.host_name = UnsafePointer(strdup("factory"))
        api.host_version = UnsafePointer(strdup(FactoryVersion.string))
        api.log = { level, source, message in HostServices.log(level, source, message) }
        api.error_set = { err, status, message in
            guard let err else { return }
            let slot = Unmanaged<ErrorSlot>.fromOpaque(UnsafeRawPointer(err)).takeUnretainedValue()
            slot.status = status
            slot.message = message.map { String(cString: $0) }
        }
        api.alloc = { size, alignment in
            var p: UnsafeMutableRawPointer?
            let a = alignment == 0 ? 16 : Int(alignment)
            guard a <= 4096, a & (a - 1) == 0, size <= UInt64(Int.max) else { return nil }
            return posix_memalign(&p, max(a, MemoryLayout<Int>.size), Int(max(size, 1))) == 0 ? p : nil
        }
        api.free = { p in Glibc.free(p) }
        api.is_cancelled = { HostServices.cancelled }
        EngineServices.install(&api)
        TrainingServices.install(&api)
        ParallelServices.install(&api)
        t.initialize(to: api)
        return UnsafePointer(t)
    }()


    static func log(_ level: factory_log_level_t, _ source: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
        guard level >= minimumLogLevel else { return }
        let names = ["debug", "info", "warning", "error", "plugin misbehaving", "host misbehaving"]
        let name = level >= 0 && Int(level) < names.count ? names[Int(level)] : "level \(level)"
        let text = "[\(source.map { String(cString: $0) } ?? "plugin")] \(name): \(message.map { String(cString: $0) } ?? "")\n"
        fputs(text, stderr)
    }

    /// The symbolic name of a status code.
    public static func statusName(_ status: factory_status_t) -> String {
        switch status {
        case FACTORY_OK.rawValue: return "ok"
        case FACTORY_ERR_INVALID_ARGUMENT.rawValue: return "invalid argument"
        case FACTORY_ERR_UNSUPPORTED.rawValue: return "unsupported"
        case FACTORY_ERR_OUT_OF_MEMORY.rawValue: return "out of memory"
        case FACTORY_ERR_SHAPE_MISMATCH.rawValue: return "shape mismatch"
        case FACTORY_ERR_CANCELLED.rawValue: return "cancelled"
        case FACTORY_ERR_INTERNAL.rawValue: return "internal error"
        case FACTORY_ERR_NOT_FOUND.rawValue: return "not found"
        case FACTORY_ERR_IO.rawValue: return "i/o error"
        default: return "unknown status"
        }
    }

    /// Marks the run as cancelled (SIGINT); plugins see it through is_cancelled().
    public static func cancel() { cancelled = true }
    /// Whether SIGINT asked the run to stop (a training run then saves a checkpoint after its step).
    public static var isCancelled: Bool { cancelled }
}

/// The version of this host program.
public enum FactoryVersion {
    public static let string = "0.1.0"
    /// The plugin ABI this host speaks, "1.0.0".
    public static let abi = "\(FACTORY_ABI_MAJOR).\(FACTORY_ABI_MINOR).\(FACTORY_ABI_PATCH)"
    /// The compiler that built the host, in the form Swift plugins report in build_info.
    public static let swiftBuild: String = {
        #if compiler(>=6.5)
        return "swift-6.5+"
        #elseif compiler(>=6.4)
        return "swift-6.4"
        #elseif compiler(>=6.3)
        return "swift-6.3"
        #elseif compiler(>=6.2)
        return "swift-6.2"
        #else
        return "swift-older-than-6.2"
        #endif
    }()
}
