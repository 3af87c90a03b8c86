import CFactoryABI
import FactoryEngine

/// A host-owned box behind each `factory_tensor_t *`.
final class TensorHandle {
    let tensor: Tensor
    init(_ tensor: Tensor) { self.tensor = tensor }
}

/// A wrong call into the engine from a plugin: a status and a message, never a trap.
struct EngineCallError: Error {
    let status: factory_status_t
    let message: String
    init(_ message: String, status: factory_status_code = FACTORY_ERR_INVALID_ARGUMENT) {
        self.message = message
        self.status = status.rawValue
    }
}

/// Runs `body` in a scope of plugin tensor handles: the handles that plugins' engine calls make during it,
/// outside a scope of their own, are released when it returns (the tensors live on where host code holds
/// them). For host code that calls a plugin outside a model's forward, whose layers open their own scopes:
/// without it those handles stay in the root scope for the life of the process (merging 210 LoRA linears
/// into SmolLM2 held 1.8 GB that way).
public func withPluginHandleScope<T>(_ body: () throws -> T) rethrows -> T {
    TensorHandles.push()
    defer { TensorHandles.pop() }
    return try body()
}

/// Handle bookkeeping: scopes of handles released together, and owned handles.
enum TensorHandles {
    /// Open scopes, innermost last; the first never closes.
    nonisolated(unsafe) static var scopes: [[OpaquePointer]] = [[]]

    /// A scope handle for `t` (released when the innermost scope closes).
    static func scoped(_ t: Tensor) -> OpaquePointer {
        let p = owned(t)
        scopes[scopes.count - 1].append(p)
        return p
    }

    /// A handle the caller releases with `release`.
    static func owned(_ t: Tensor) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(TensorHandle(t)).toOpaque())
    }

    static func release(_ p: OpaquePointer) {
        Unmanaged<TensorHandle>.fromOpaque(UnsafeRawPointer(p)).release()
    }

    static func push() { scopes.append([]) }

    static func pop() {
        guard scopes.count > 1 else { return }
        for p in scopes.removeLast() { release(p) }
    }

    /// The tensor behind a handle; NULL is an error naming `what`.
    static func tensor(_ p: OpaquePointer?, _ what: String = "tensor") throws -> Tensor {
        guard let p else { throw EngineCallError("\(what) is NULL") }
        return Unmanaged<TensorHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue().tensor
    }

    /// A shape from an int64 array, checked.
    static func shape(_ p: UnsafePointer<Int64>?, _ rank: Int32) throws -> [Int] {
        guard rank >= 0, rank <= 8 else { throw EngineCallError("rank \(rank) outside 0...8") }
        guard rank == 0 || p != nil else { throw EngineCallError("shape is NULL") }
        var shape: [Int] = []
        var total = 1
        for i in 0..<Int(rank) {
            let d = p![i]
            guard d >= 0, d <= Int64(Int32.max) else { throw EngineCallError("dimension \(i) is \(d)") }
            shape.append(Int(d))
            let (t, overflow) = total.multipliedReportingOverflow(by: Int(d))
            guard !overflow, t <= 1 << 40 else { throw EngineCallError("shape \(shape) is too large") }
            total = t
        }
        return shape
    }
}

/// Fills a host error slot from a thrown error.
func report(_ err: OpaquePointer?, _ error: Error) {
    guard let err else { return }
    let slot = Unmanaged<ErrorSlot>.fromOpaque(UnsafeRawPointer(err)).takeUnretainedValue()
    if let e = error as? EngineCallError {
        slot.status = e.status
        slot.message = e.message
    } else {
        slot.status = FACTORY_ERR_INVALID_ARGUMENT.rawValue
        slot.message = "\(error)"
    }
}

/// Runs an op for a plugin: a scope handle on success, NULL and a filled error otherwise.
func engineOp(_ err: OpaquePointer?, _ body: () throws -> Tensor) -> OpaquePointer? {
    do { return TensorHandles.scoped(try body()) } catch {
        report(err, error)
        return nil
    }
}

/// Runs a status-returning engine call for a plugin.
func engineCall(_ err: OpaquePointer?, _ body: () throws -> Void) -> factory_status_t {
    do {
        try body()
        return FACTORY_OK.rawValue
    } catch {
        report(err, error)
        return (error as? EngineCallError)?.status ?? FACTORY_ERR_INVALID_ARGUMENT.rawValue
    }
}

/// Throws `message` unless `condition` holds.
func need(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw EngineCallError(message()) }
}

/// Throws an engine shape rule's refusal (ShapeRules) as FACTORY_ERR_SHAPE_MISMATCH.
func needShape(_ problem: String?) throws {
    if let problem { throw EngineCallError(problem, status: FACTORY_ERR_SHAPE_MISMATCH) }
}

/// Throws FACTORY_ERR_SHAPE_MISMATCH unless `condition` holds: the one status of every shape refusal
/// (sizes that do not fit each other), as status.h defines it; other bad arguments are INVALID_ARGUMENT.
func needShape(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw EngineCallError(message(), status: FACTORY_ERR_SHAPE_MISMATCH) }
}


/// An axis in range, negative counting from the end.
func axis(_ a: Int32, rank: Int) throws -> Int {
    let ax = a < 0 ? rank + Int(a) : Int(a)
    try need(ax >= 0 && ax < rank, "axis \(a) outside a tensor of rank \(rank)")
    return ax
}
