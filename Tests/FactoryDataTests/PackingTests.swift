import FactoryData
import XCTest

final class PackingTests: XCTestCase {
    func testGreedyKnapsackAsLLaMAFactory() {
        // sorted [1, 2, 3, 4, 5, 7], capacity 8: take 7 then 1; then 5, 3; then 4, 2
        XCTAssertEqual(Packer.greedyKnapsack([5, 1, 7, 3, 2, 4], capacity: 8), [[7, 1], [5, 3], [4, 2]])
        XCTAssertEqual(Packer.greedyKnapsack([], capacity: 8), [])
        XCTAssertEqual(Packer.greedyKnapsack([9], capacity: 8), [[9]])
    }

    func testNeatPackingNumbersSamplesAndRestartsPositions() {
        let a = EncodedExample(inputIDs: [1, 2, 3], labels: [-100, 2, 3]), b = EncodedExample(inputIDs: [4, 5], labels: [-100, 5])
        let rows = Packer.pack([a, b], cutoffLen: 6, padID: 0, neat: true)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].inputIDs, [1, 2, 3, 4, 5, 0])
        XCTAssertEqual(rows[0].labels, [-100, 2, 3, -100, 5, -100])
        XCTAssertEqual(rows[0].attentionMask, [1, 1, 1, 2, 2, 0])
        XCTAssertEqual(rows[0].positionIDs, [0, 1, 2, 0, 1, 0])
        let plain = Packer.pack([a, b], cutoffLen: 6, padID: 0, neat: false)
        XCTAssertEqual(plain[0].attentionMask, [1, 1, 1, 1, 1, 0])
    }

    func testPretrainBlocks() {
        let blocks = Packer.pretrainBlocks([[1, 2, 3], [4, 5]], eosID: 9, cutoffLen: 3, packing: true)
        XCTAssertEqual(blocks.map(\.inputIDs), [[1, 2, 3], [9, 4, 5]])  // [1 2 3 9 4 5 9]: the last 9 is dropped
        XCTAssertEqual(blocks.map(\.labels), blocks.map(\.inputIDs))
        XCTAssertEqual(Packer.pretrainBlocks([[1, 2, 3, 4]], eosID: 9, cutoffLen: 3, packing: false).map(\.inputIDs), [[1, 2, 3]])
    }
}
