import Glibc

/// A file write that either fully happens or does not: the bytes go to a temporary file in the
/// same directory, are flushed to disk, and are renamed over the target (rename is atomic), so a
/// crash or kill mid-write leaves the previous file intact.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard let f = fopen(temporary, "wb") else { throw WriteError(path: path, reason: "cannot create \(temporary) (\(String(cString: strerror(errno))))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard written == bytes.count, flushed, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw WriteError(path: path, reason: "write failed (\(written) of \(bytes.count) bytes)")
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }
}
