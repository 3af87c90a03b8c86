import FactoryData
import XCTest

final class MixerTests: XCTestCase {
    func testConcatAndRoundRobinInterleaving() throws {
        let a = [1, 2, 3], b = [10, 20]
        XCTAssertEqual(try Mixer.mix([a, b], strategy: "concat", probabilities: nil, seed: 1), [1, 2, 3, 10, 20])
        // first_exhausted: stops as soon as b runs out
        XCTAssertEqual(try Mixer.mix([a, b], strategy: "interleave_under", probabilities: nil, seed: 1), [1, 10, 2, 20])
        // all_exhausted: b restarts until a is used up too
        XCTAssertEqual(try Mixer.mix([a, b], strategy: "interleave_over", probabilities: nil, seed: 1), [1, 10, 2, 20, 3])
    }

    func testProbabilitiesAreSeededAndRespected() throws {
        let a = Array(0..<1000), b = Array(1000..<2000)
        let x = try Mixer.mix([a, b], strategy: "interleave_under", probabilities: [0.8, 0.2], seed: 7)
        XCTAssertEqual(x, try Mixer.mix([a, b], strategy: "interleave_under", probabilities: [0.8, 0.2], seed: 7))
        let fromA = Double(x.filter { $0 < 1000 }.count) / Double(x.count)
        XCTAssertEqual(fromA, 0.8, accuracy: 0.05)
        XCTAssertThrowsError(try Mixer.mix([a, b], strategy: "interleave_under", probabilities: [1], seed: 7))
        XCTAssertThrowsError(try Mixer.mix([a, b], strategy: "shuffle", probabilities: nil, seed: 7)) {
            XCTAssertEqual("\($0)", "mix_strategy 'shuffle' is not concat, interleave_under or interleave_over")
        }
    }
}
