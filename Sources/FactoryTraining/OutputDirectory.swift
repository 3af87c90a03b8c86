// One run owns an output directory at a time, and a run cleans up after one that was killed.
// The lock is an advisory flock on output_dir/.factory.lock, which the kernel releases when the
// process ends however it ends; the file holds the owner's pid for the message a second run prints.
import FactoryFormats
import Foundation

public final class OutputDirectory {
    public static let lockName = ".factory.lock"
    public let path: String
    private let descriptor: Int32

    /// Creates `path` if needed and takes its lock; throws at once, naming the directory and the
    /// other run's pid, when another process holds it. The lock lasts as long as this object.
    public init(locking path: String) throws {
        try FileSystem.createDirectory(path)
        let file = path + "/" + Self.lockName
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainingError("\(path): cannot use it as output_dir (\(FileSystem.reason()))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? FileSystem.read(file)).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            close(fd)
            throw TrainingError("\(path): output_dir is in use by another factory run (pid \(owner.isEmpty ? "unknown" : owner)); wait for it or choose another output_dir")
        }
        // the pid is for messages only: on a full disk the lock still holds without it
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        self.path = path
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Removes what a killed run left: `*.partial` directories (a checkpoint or final save cut short)
    /// and `*.tmp-PID` files of processes that are gone. Returns their names.
    public func removeLeftovers() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().filter { name in
            let leftover: Bool
            if name.hasSuffix(".partial") {
                leftover = true
            } else if let range = name.range(of: AtomicFile.temporaryMarker, options: .backwards), let pid = Int32(name[range.upperBound...]) {
                leftover = pid != getpid() && kill(pid, 0) != 0
            } else {
                leftover = false
            }
            return leftover && (try? FileManager.default.removeItem(atPath: path + "/" + name)) != nil
        }
    }

    /// The entries that belong to a run's results (the lock file is not one).
    public var contents: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != Self.lockName }
    }

    /// Moves every entry of `staging` into `directory` (renames on one file system: no space needed, so
    /// a full disk stops a save before any previous result is replaced), then removes `staging`.
    public static func moveContents(of staging: String, into directory: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: staging).sorted() {
            let target = directory + "/" + name
            var info = stat()
            if stat(target, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR { try? FileManager.default.removeItem(atPath: target) }
            guard rename(staging + "/" + name, target) == 0 else {
                throw TrainingError("\(target): cannot move the saved file into place (\(FileSystem.reason()))")
            }
        }
        rmdir(staging)
    }
}
