import Foundation
import XCTest

/// The `mpi` communicator plugin (ABI 1.10) on two real Open MPI ranks: `factory plugins check` runs the
/// communicator suite on both at once, over Open MPI's default transports and forced onto TCP (so that
/// nothing relies on shared memory). Open MPI comes from Debian (`openmpi-bin`, installed by the setup).
final class CommunicatorTests: XCTestCase {
    /// Open MPI refuses root unless told; CI runs as root.
    static let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    func testTheMPIPluginPassesTheCommunicatorSuiteOnTwoRanks() throws {
        let mpirun = "/usr/bin/mpirun"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: mpirun), "Open MPI's mpirun is missing: install openmpi-bin (scripts/install-deps.sh)")
        let plugin = CLI.products + "/libFactoryPluginCommunicatorMPI.so"
        for transport in [[], ["--mca", "btl", "tcp,self"]] {
            let r = try CLI.run(["-np", "2"] + transport + [CLI.binary, "plugins", "check", plugin], program: mpirun, environment: Self.mpiEnvironment)
            let label = transport.isEmpty ? "default transports" : "TCP"
            XCTAssertEqual(r.status, 0, "\(label):\n\(r.stdout)\(r.stderr)")
            XCTAssertEqual(r.stdout.components(separatedBy: ": 10 passed, 0 failed").count - 1, 2, "\(label): both ranks pass every probe\n\(r.stdout)")
            XCTAssertTrue(r.stdout.contains("rank 0 of 2") && r.stdout.contains("rank 1 of 2"), "\(label): two ranks joined\n\(r.stdout)")
            XCTAssertTrue(r.stdout.contains("over 2 rank(s), the same bits on every rank"), r.stdout)
        }
    }

    /// SDK/templates/communicator builds against the SDK alone, passes the communicator suite, and a run names it.
    func testTheCommunicatorTemplateBuildsPassesTheSuiteAndServesARun() throws {
        let dir = try CLI.temporaryDirectory()
        _ = try CLI.sh("make -s -C \(CLI.repository)/SDK/templates/communicator FACTORY_SDK=\(CLI.repository)/SDK OUT=\(dir)/c.so")
        let check = try CLI.run(["plugins", "check", dir + "/c.so"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains(": 10 passed, 0 failed"), check.stdout)
        let run = try CLI.run(["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                               "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=32", "max_steps=1", "save_strategy=no",
                               "communicator=example_local", "output_dir=\(dir)/out", "--plugins", dir + "/c.so"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let missing = try CLI.run(["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                                   "dataset=factory_demo", "dataset_dir=examples/data", "max_steps=1", "communicator=nccl", "output_dir=\(dir)/out2"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("factory: error: communicator: ") && missing.stderr.contains("nccl"), missing.stderr)
    }
}
