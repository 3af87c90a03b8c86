import FactoryPipeline
import FactoryTraining
import Foundation

/// `NPROC_PER_NODE=N factory run ...`: as LLaMA-Factory starts torchrun itself, Factory starts Open MPI's
/// mpirun with N copies of the same command (each then joins the run through the mpi communicator plugin;
/// docs/distributed.md). Several machines are mpirun's own job (a hostfile): NNODES > 1 is refused here.
enum MPILaunch {
    /// Replaces this process by `mpirun -np N <this binary> <the same arguments>` when NPROC_PER_NODE asks for
    /// more than one process and mpirun did not start this one; returns when nothing is to be launched.
    static func replaceIfAsked() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let value = environment["NPROC_PER_NODE"], !DataParallel.launchedByMPI else { return }
        guard let count = Int(value), count >= 1, count <= 4096 else {
            throw ConfigProblem("NPROC_PER_NODE=\(value): give the number of processes, 1 to 4096")
        }
        guard count > 1 else { return }
        if let nodes = environment["NNODES"], nodes != "1" {
            throw ConfigProblem("NNODES=\(nodes): Factory runs several machines through mpirun itself; start it with a hostfile (docs/distributed.md), not NNODES")
        }
        guard let mpirun = which("mpirun") else {
            throw ConfigProblem("NPROC_PER_NODE=\(count) needs Open MPI's mpirun on PATH (Debian: apt-get install openmpi-bin)")
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // --noprefix: started by its full path, mpirun would put its own folder first on the ranks' PATH, hiding the
        // python3 (pyenv, a virtualenv) that finds a pip-shipped model
        var arguments = [mpirun, "--noprefix", "-np", String(count)]
        if geteuid() == 0 && environment["OMPI_ALLOW_RUN_AS_ROOT"] == nil {
            arguments.append("--allow-run-as-root")  // Open MPI refuses root unless told; the user asked for the run
            fputs("NPROC_PER_NODE=\(count): running mpirun as root (--allow-run-as-root)\n", stderr)
        }
        arguments += [me] + CommandLine.arguments.dropFirst()
        fputs("NPROC_PER_NODE=\(count): " + arguments.joined(separator: " ") + "\n", stderr)
        fflush(stdout)
        let argv = arguments.map { strdup($0) } + [nil]
        execv(mpirun, argv)
        throw ConfigProblem("NPROC_PER_NODE=\(count): could not start \(mpirun): \(String(cString: strerror(errno)))")
    }

    /// The first executable `name` on PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
