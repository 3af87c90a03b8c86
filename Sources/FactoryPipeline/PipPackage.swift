import Foundation

/// A PyPI package that is not installed (or no python3 to ask): the message says what to install.
public struct PipPackageError: Error, CustomStringConvertible {
    public let description: String
}

/// Files that PyPI packages ship — the default model's GGUF, jieba's dictionary — found where pip put them.
/// Factory runs no Python code of theirs; it only asks python3 where a package's files are.
public enum PipPackage {
    /// The site-packages folder of an installed package, from its installed metadata (importlib.metadata:
    /// what `pip show` reads, without pip's 0.7 s start-up). `hint` is the error when it is not there.
    public static func location(of package: String, hint: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys, importlib.metadata as m; print('Location: ' + str(m.distribution(sys.argv[1]).locate_file('')))", package]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw PipPackageError(description: hint) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Location:") }) else {
            // mpirun started by its absolute path puts its own bin folder first on PATH (Open MPI's --prefix
            // behaviour), which can hide the python3 (pyenv, a virtualenv) that has the package
            let underMPI = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
            throw PipPackageError(description: hint + (underMPI ? " (or, under mpirun, python3 on the ranks' PATH is another one: mpirun started by its full path puts its own folder first; add --noprefix)" : ""))
        }
        return line.dropFirst("Location:".count).trimmingCharacters(in: .whitespaces)
    }
}
