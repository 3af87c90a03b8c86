#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFactoryABI

/// C memory the kit hands to the host: strings and tables that must keep
/// their address until a known point (deinit or destroy), then go at once.
final class CAllocations {
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var blocks: [UnsafeMutableRawPointer] = []

    /// A NUL-terminated copy of `s`, alive until `release()`.
    func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        strings.append(p)
        return UnsafePointer(p)
    }

    /// A NULL-terminated array of C strings, alive until `release()`.
    func stringList(_ items: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: items.count + 1)
        for (i, s) in items.enumerated() { list[i] = string(s) }
        list[items.count] = nil
        blocks.append(UnsafeMutableRawPointer(list))
        return UnsafePointer(list)
    }

    /// One zero-filled `T`, alive until `release()`.
    func block<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.stride)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: 1)
    }

    /// Frees everything handed out so far.
    func release() {
        for p in strings { free(p) }
        for b in blocks { b.deallocate() }
        strings.removeAll()
        blocks.removeAll()
    }

    deinit { release() }
}

/// `UInt64` from the ABI to `Int`, or a thrown invalid-argument error naming `what`.
func checkedInt(_ value: UInt64, _ what: String) throws -> Int {
    guard let n = Int(exactly: value) else { throw PluginError.invalidArgument("\(what) \(value) is too large") }
    return n
}

/// Sends `text` to an ABI output stream.
func write(_ text: String, to stream: UnsafePointer<factory_ostream_t>?) throws {
    guard let stream, let write = stream.pointee.write else { throw PluginError.invalidArgument("output stream is NULL") }
    var copy = text
    let ok = copy.withUTF8 { buffer in
        buffer.isEmpty || write(stream, buffer.baseAddress, UInt64(buffer.count)) == Int64(buffer.count)
    }
    if !ok { throw PluginError(FACTORY_ERR_IO, "the host's output stream refused the data") }
}
