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
}
