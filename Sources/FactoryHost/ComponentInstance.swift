import CFactoryABI
import FactoryJSON

/// A failed call into a plugin: which component, which call, and the plugin's message.
public struct PluginCallError: Error, CustomStringConvertible {
    public let component: String
    public let call: String
    public let status: Int32
    public let message: String
    public var description: String { "\(component): \(call) failed: \(message)" }
}

/// An instance created through a component's factory; destroyed with this object.
public class ComponentInstance {
    public let component: Component
    let base: UnsafePointer<factory_instance_t>

    /// Creates `component` with `config` (a JSON object).
    public init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        self.component = component
        guard let create = component.factory.pointee.create else {
            throw PluginCallError(component: component.name, call: "create", status: FACTORY_ERR_INTERNAL.rawValue, message: "factory has no create()")
        }
        let text = config.serialized()
        let (instance, slot) = ErrorSlot.capture { err in
            text.withCString { create(component.name, $0, UInt64(text.utf8.count), err) }
        }
        guard let instance else {
            throw PluginCallError(component: component.name, call: "create", status: slot.status, message: slot.describe(status: slot.status))
        }
        base = instance
    }

    deinit { base.pointee.destroy?(base) }

    /// Calls a fallible plugin function and turns a failure into PluginCallError.
    func call(_ name: String, _ body: (OpaquePointer) -> factory_status_t) throws {
        let (status, slot) = ErrorSlot.capture(body)
        guard status == FACTORY_OK.rawValue else {
            throw PluginCallError(component: component.name, call: name, status: status, message: slot.describe(status: status))
        }
    }

    /// Whether the plugin's instance table (of the kind's type T) is large enough to hold `member`, a field a
    /// later minor appended: the host's form of FACTORY_INSTANCE_HAS, checked before reading such a member.
    func has<T, M>(_ type: T.Type, _ member: KeyPath<T, M>) -> Bool {
        guard let offset = MemoryLayout<T>.offset(of: member) else { return false }
        return Int(base.pointee.struct_size) >= offset + MemoryLayout<M>.size
    }

    /// The instance as the kind's table type, if the plugin's table is large enough: `minimumSize`
    /// bytes (the 1.0 calls; later minors append optional ones, read only when struct_size covers them).
    func table<T>(_ type: T.Type, minimumSize: Int = MemoryLayout<T>.size) throws -> UnsafePointer<T> {
        guard Int(base.pointee.struct_size) >= minimumSize else {
            throw PluginCallError(component: component.name, call: "create", status: FACTORY_ERR_INTERNAL.rawValue,
                                  message: "instance table is \(base.pointee.struct_size) bytes, ABI 1.0 needs \(minimumSize)")
        }
        return UnsafeRawPointer(base).assumingMemoryBound(to: T.self)
    }
}

/// Collects bytes a plugin writes to a factory_ostream_t.
final class ByteCollector {
    var bytes: [UInt8] = []

    /// Runs `body` with a stream writing into this collector.
    func withStream<R>(_ body: (UnsafePointer<factory_ostream_t>) throws -> R) rethrows -> R {
        var stream = factory_ostream_t(ctx: Unmanaged.passUnretained(self).toOpaque(), write: { stream, buffer, size in
            guard let stream, let ctx = stream.pointee.ctx else { return -1 }
            let me = Unmanaged<ByteCollector>.fromOpaque(ctx).takeUnretainedValue()
            if size > 0 {
                guard let buffer, size <= UInt64(Int.max) else { return -1 }
                me.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: Int(size)))
            }
            return Int64(size)
        })
        return try withExtendedLifetime(self) { try withUnsafePointer(to: &stream) { try body($0) } }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
