import FactoryEngine
import XCTest

/// The engine's shape rules, the one place both the ops and the C ABI layer take them from: each
/// accepts what its op computes and refuses the nearest shape that does not fit, in one line.
final class ShapeRulesTests: XCTestCase {
    func testEachRuleAcceptsAndRefusesAtItsEdge() {
        XCTAssertNil(ShapeRules.broadcast("add", [2, 3], [1, 3]))
        XCTAssertEqual(ShapeRules.broadcast("add", [2, 3], [2, 2]), "add: shapes [2, 3] and [2, 2] do not broadcast")
        XCTAssertNil(ShapeRules.matmul([4, 2, 3], [3, 5]))
        XCTAssertNil(ShapeRules.matmul([4, 2, 3], [4, 3, 5]))
        XCTAssertEqual(ShapeRules.matmul([2, 3], [4, 5]), "matmul: [2, 3] · [4, 5]: inner sizes differ")
        XCTAssertEqual(ShapeRules.matmul([3], [3, 5]), "matmul: needs matrices, got [3] and [3, 5]")
        XCTAssertEqual(ShapeRules.matmul([4, 2, 3], [2, 3, 5]), "matmul: batch shapes [4, 2, 3] and [2, 3, 5] differ")
        XCTAssertNil(ShapeRules.reshape([2, 6], to: [3, 4]))
        XCTAssertEqual(ShapeRules.reshape([2, 6], to: [5, 2]), "reshape: [2, 6] has 12 elements, [5, 2] has 10")
        XCTAssertNil(ShapeRules.slice([2, 6], axis: 1, start: 2, length: 4))
        XCTAssertEqual(ShapeRules.slice([2, 6], axis: 1, start: 3, length: 4), "slice: 3..<7 outside 6")
        XCTAssertNil(ShapeRules.concat([[2, 3], [5, 3]], axis: 0))
        XCTAssertEqual(ShapeRules.concat([[2, 3], [5, 4]], axis: 0), "concat: tensor 1 [5, 4] does not fit [2, 3] along axis 0")
        XCTAssertNil(ShapeRules.lastDimension("rms_norm", x: [2, 8], weight: [8]))
        XCTAssertEqual(ShapeRules.lastDimension("rms_norm", x: [2, 8], weight: [7]), "rms_norm: weight [7] does not match the last dimension of [2, 8]")
        XCTAssertNil(ShapeRules.rope([2, 5, 4, 8], positions: 5, half: 4))
        XCTAssertNil(ShapeRules.rope([2, 5, 4, 8], positions: 10, half: 4))
        XCTAssertEqual(ShapeRules.rope([2, 5, 4, 8], positions: 10, half: 4, perRow: false), "rope: 10 positions for 5 tokens")
        XCTAssertEqual(ShapeRules.rope([2, 5, 4, 8], positions: 5, half: 5), "rope: 5 frequencies for head size 8")
        XCTAssertEqual(ShapeRules.swiglu(gate: [2, 3], up: [2, 4]), "swiglu: gate [2, 3] and up [2, 4] differ")
        XCTAssertEqual(ShapeRules.rows("softmax", []), "softmax: a scalar")
        XCTAssertNil(ShapeRules.crossEntropy(logits: [2, 3, 7], labels: 6))
        XCTAssertEqual(ShapeRules.crossEntropy(logits: [2, 3, 7], labels: 5), "cross_entropy: 5 labels for 6 rows")
        XCTAssertNil(ShapeRules.attention(q: [1, 6, 4, 8], k: [1, 2, 9, 8], v: [1, 2, 9, 8], mask: [1, 1, 4, 9]))
        XCTAssertEqual(ShapeRules.attention(q: [1, 6, 4, 8], k: [1, 4, 9, 8], v: [1, 4, 9, 8], mask: nil),
                       "attention: 6 query heads are not a multiple of 4 kv heads")
        XCTAssertEqual(ShapeRules.attention(q: [1, 6, 4, 8], k: [1, 2, 9, 8], v: [1, 2, 9, 8], mask: [1, 1, 4, 8]),
                       "attention: mask [1, 1, 4, 8] does not broadcast")
        XCTAssertEqual(ShapeRules.linear(x: [3, 4], weight: [5, 4], bias: [4]), "linear_with: bias [4] does not fit weight [5, 4]")
    }
}
