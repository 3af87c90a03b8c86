import FactoryEngine
import FactoryHost
import FactoryTraining
import XCTest

/// How a data-parallel run shares a micro-batch among its ranks (DataParallel.share): every example on
/// exactly one rank, the same answer on every rank, no rank padding more than ⌈n / N⌉ rows of the longest
/// example (the per-device memory budget), and a lopsided batch balanced better than dealing in turn.
final class DataParallelShareTests: XCTestCase {
    /// Rank `rank` of `worldSize`, without a transport: share() needs no collective.
    final class Place: Communicator {
        let rank: Int, worldSize: Int
        init(_ rank: Int, of worldSize: Int) { (self.rank, self.worldSize) = (rank, worldSize) }
        var localRank: Int { rank }
        var localSize: Int { worldSize }
        var transport: String { "test" }
        func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws { XCTFail("no collective expected") }
        func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws -> PendingReduction {
            throw CommunicatorError("no collective expected")
        }
        func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws { XCTFail("no collective expected") }
        func barrier() throws { XCTFail("no collective expected") }
        func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] { throw CommunicatorError("no collective expected") }
    }

    /// (rows × longest row) of a share.
    func padded(_ share: [Int], _ lengths: [Int: Int]) -> Int { share.count * (share.map { lengths[$0]! }.max() ?? 0) }

    func testEveryExampleLandsOnExactlyOneRankWithinTheMemoryBudget() {
        var rng = SplitMix64(seed: 9)
        for world in 1...5 {
            for n in [0, 1, 3, 4, 7, 8, 13] {
                let examples = (0..<n).map { 100 + $0 * 3 }  // indices into a dataset
                let lengths = Dictionary(uniqueKeysWithValues: examples.map { ($0, 1 + Int(rng.next() % 512)) })
                let shares = (0..<world).map { DataParallel(Place($0, of: world)).share(examples) { lengths[$0]! } }
                XCTAssertEqual(shares.flatMap { $0 }.sorted(), examples, "world \(world), \(n) examples: each once")
                let budget = (n + world - 1) / world * (lengths.values.max() ?? 0)
                for share in shares { XCTAssertLessThanOrEqual(padded(share, lengths), budget, "world \(world), \(n) examples") }
                let again = DataParallel(Place(world - 1, of: world)).share(examples) { lengths[$0]! }
                XCTAssertEqual(again, shares[world - 1], "the same answer every time")
            }
        }
    }

    func testALopsidedBatchIsBalancedByPaddedLength() {
        let lengths = [0: 512, 1: 300, 2: 250, 3: 100]
        let shares = (0..<2).map { DataParallel(Place($0, of: 2)).share(Array(0..<4)) { lengths[$0]! } }
        XCTAssertEqual(shares, [[0], [1, 2, 3]], "the longest alone: 512 against 900 padded tokens (dealing in turn: 1024 against 600)")
    }
}
