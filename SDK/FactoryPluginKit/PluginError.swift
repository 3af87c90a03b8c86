import CFactoryABI

/// An error a plugin throws; the kit turns it into a status and a message
/// for the host. Any other thrown error becomes FACTORY_ERR_INTERNAL with the
/// error's description.
public struct PluginError: Error, CustomStringConvertible {
    /// One of the FACTORY_ERR_* codes.
    public let status: factory_status_t
    /// One line, naming the key, value or file that is wrong.
    public let message: String

    public init(_ status: factory_status_code, _ message: String) {
        self.status = status.rawValue
        self.message = message
    }

    public var description: String { message }

    /// A caller-supplied value is wrong.
    public static func invalidArgument(_ message: String) -> PluginError { PluginError(FACTORY_ERR_INVALID_ARGUMENT, message) }
    /// A valid request this plugin cannot serve.
    public static func unsupported(_ message: String) -> PluginError { PluginError(FACTORY_ERR_UNSUPPORTED, message) }
    /// A shape that does not fit.
    public static func shapeMismatch(_ message: String) -> PluginError { PluginError(FACTORY_ERR_SHAPE_MISMATCH, message) }
    /// A name nobody provides.
    public static func notFound(_ message: String) -> PluginError { PluginError(FACTORY_ERR_NOT_FOUND, message) }
}

/// A host engine call that returned NULL or a failure; the host has already
/// written its message into the error slot of the call being served.
public struct HostCallFailed: Error, CustomStringConvertible {
    public let call: String
    public var description: String { "host call \(call) failed" }
}

/// Runs `body`, reporting a thrown error through the host's error slot.
/// Returns FACTORY_OK or the error's status; never traps on a thrown error.
func reportingErrors(_ err: OpaquePointer?, _ body: () throws -> Void) -> factory_status_t {
    let saved = Host.currentError
    Host.currentError = err
    defer { Host.currentError = saved }
    do {
        try body()
        return FACTORY_OK.rawValue
    } catch let error as HostCallFailed {
        _ = error  // the host already filled the slot
        return FACTORY_ERR_INVALID_ARGUMENT.rawValue
    } catch let error as PluginError {
        Host.setError(err, error.status, error.message)
        return error.status
    } catch {
        Host.setError(err, FACTORY_ERR_INTERNAL.rawValue, String(describing: error))
        return FACTORY_ERR_INTERNAL.rawValue
    }
}
