import Glibc

/// A file write that either fully happens or does not: the bytes go to a temporary file in the
/// same directory, are flushed to disk, and are renamed over the target (rename is atomic), so a
/// crash or kill mid-write leaves the previous file intact. Failures name the file and give the
/// operating system's reason in words ("No space left on device", "Read-only file system").
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }
        public var description: String { "\(path): \(reason)" }
    }

    /// The suffix of a temporary file of this process ("<path>.tmp-<pid>"); a later run in the same
    /// directory removes those of processes that are gone.
    public static let temporaryMarker = ".tmp-"

    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + temporaryMarker + String(getpid())
        guard let f = fopen(temporary, "wb") else { throw WriteError(path: path, reason: "cannot write (\(FileSystem.reason()))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        var failure = written == bytes.count ? nil : FileSystem.reason()
        if failure == nil && (fflush(f) != 0 || fsync(fileno(f)) != 0) { failure = FileSystem.reason() }
        if fclose(f) != 0 && failure == nil { failure = FileSystem.reason() }
        if failure == nil && rename(temporary, path) != 0 { failure = FileSystem.reason() }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: "write failed (\(failure))")
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }

    /// Passes what `produce` hands over on to `append`, and returns how many bytes that was (the streamed
    /// writers check it against the size they declared in their headers).
    public static func forward(_ produce: @escaping (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
                               to append: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var handed = 0
        try produce { piece in
            handed += piece.count
            try append(piece)
        }
        return handed
    }

    /// A file written piece by piece: `body` hands each piece to the appender it gets, in order. The same
    /// rule as write(_:to:): the pieces go to a temporary file, which replaces `path` only when all of
    /// them were written and flushed; an error thrown by `body` or by a write leaves `path` as it was.
    public static func write(to path: String, _ body: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let temporary = path + temporaryMarker + String(getpid())
        guard let f = fopen(temporary, "wb") else { throw WriteError(path: path, reason: "cannot write (\(FileSystem.reason()))") }
        var closed = false
        defer { if !closed { fclose(f); unlink(temporary) } }
        try body { piece in
            guard piece.count > 0 else { return }
            guard fwrite(piece.baseAddress, 1, piece.count, f) == piece.count else {
                throw WriteError(path: path, reason: "write failed (\(FileSystem.reason()))")
            }
        }
        var failure = fflush(f) != 0 || fsync(fileno(f)) != 0 ? FileSystem.reason() : nil
        closed = true
        if fclose(f) != 0 && failure == nil { failure = FileSystem.reason() }
        if failure == nil && rename(temporary, path) != 0 { failure = FileSystem.reason() }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: "write failed (\(failure))")
        }
    }
}

/// The POSIX calls a run's output needs, with errors as one line naming the path and the
/// operating system's reason (never Foundation's NSCocoaErrorDomain text).
public enum FileSystem {
    /// strerror(errno): "No space left on device".
    public static func reason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// `mkdir -p`: creates `path` and its missing parents.
    public static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") where !part.isEmpty {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw AtomicFile.WriteError(path: path, reason: "cannot create the directory (\(prefix) is a file: \(reason(ENOTDIR)))")
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw AtomicFile.WriteError(path: path, reason: "cannot create the directory (\(reason()))")
            }
        }
    }

    /// The whole file, or a one-line error naming it.
    public static func read(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw AtomicFile.WriteError(path: path, reason: "cannot read (\(reason()))") }
        defer { fclose(f) }
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n > 0 { bytes += buffer[0..<n] }
            if n < buffer.count {
                if ferror(f) != 0 { throw AtomicFile.WriteError(path: path, reason: "cannot read (\(reason()))") }
                return bytes
            }
        }
    }
}
