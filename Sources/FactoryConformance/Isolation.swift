import FactoryHost
#if canImport(Glibc)
import Glibc
#endif

/// Runs a probe in a forked child so that a plugin that traps fails the
/// probe instead of killing the checker. The child reports one line through
/// a pipe; a child killed by a signal is reported as a crash.
enum Isolation {
    struct Outcome {
        let passed: Bool
        let detail: String
    }

    static func run(_ body: () -> Outcome) -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return body() }
        fflush(stdout)
        fflush(stderr)
        let pid = fork()
        if pid < 0 {
            close(fds[0]); close(fds[1])
            return body()
        }
        if pid == 0 {
            close(fds[0])
            let outcome = body()
            let text = (outcome.passed ? "P" : "F") + outcome.detail
            var bytes = Array(text.utf8)
            _ = write(fds[1], &bytes, bytes.count)
            close(fds[1])
            _exit(0)
        }
        close(fds[1])
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        if signal != 0 {
            return Outcome(passed: false, detail: "the plugin crashed the process (signal \(signal)) instead of returning an error status")
        }
        guard let first = data.first else { return Outcome(passed: false, detail: "the probe exited without a report") }
        return Outcome(passed: first == UInt8(ascii: "P"), detail: String(decoding: data.dropFirst(), as: UTF8.self))
    }
}
