import FactoryEngine
import XCTest

final class ShapeTests: XCTestCase {
    func testViewsShareStorageAndRouteGradients() {
        checkOp(OpCase(name: "permute", shapes: [[2, 3, 5]], engine: { $0[0].permuted([2, 0, 1]).contiguous() }, reference: { x in
            var out: [Double] = []
            for k in 0..<5 { for i in 0..<2 { for j in 0..<3 { out.append(x[0][(i * 3 + j) * 5 + k]) } } }
            return out
        }))
        checkOp(OpCase(name: "reshape of a transpose", shapes: [[3, 4]], engine: { $0[0].transposed().reshaped([2, 6]) }, reference: { x in
            var out: [Double] = []
            for j in 0..<4 { for i in 0..<3 { out.append(x[0][i * 4 + j]) } }
            return out
        }))
        func sliced(_ x: [[Double]]) -> [Double] {
            var out: [Double] = []
            for i in 0..<4 { for j in 3..<12 { out.append(x[0][i * 17 + j]) } }
            return out
        }
        checkOp(OpCase(name: "slice", shapes: [[4, 17]], engine: { $0[0].slice(axis: 1, start: 3, length: 9).contiguous() }, reference: sliced))
        let t = Tensor(shape: [4, 6], values: (0..<24).map(Float.init))
        XCTAssertTrue(t.reshaped([6, 4]).storage === t.storage)
        XCTAssertTrue(t.slice(axis: 0, start: 1, length: 2).storage === t.storage)
        XCTAssertEqual(t.slice(axis: 1, start: 2, length: 2).values, [2, 3, 8, 9, 14, 15, 20, 21])
    }

    /// A dimension of size 1 never moves an address, so its stride does not decide contiguity: a decoding
    /// step's one-token tensors, permuted between [B, T, H, D] and [B, H, T, D], are used in place (reshape
    /// and contiguous() share storage) with the same values as a copy; a real reordering is still copied.
    func testSizeOneDimensionsDoNotDecideContiguity() {
        let token = Tensor(shape: [1, 1, 3, 4], values: (0..<12).map(Float.init))
        let heads = token.permuted([0, 2, 1, 3])
        XCTAssertEqual(heads.shape, [1, 3, 1, 4])
        XCTAssertNotEqual(heads.strides, Tensor.contiguousStrides(heads.shape), "the permute keeps T's stride")
        XCTAssertTrue(heads.isContiguous)
        XCTAssertTrue(heads.contiguous().storage === token.storage, "no copy")
        XCTAssertTrue(heads.reshaped([3, 4]).storage === token.storage)
        XCTAssertEqual(heads.reshaped([3, 4]).values, (0..<12).map(Float.init))
        XCTAssertEqual(heads.permuted([0, 2, 1, 3]).reshaped([1, 12]).values, (0..<12).map(Float.init))
        let two = Tensor(shape: [1, 2, 3, 4], values: (0..<24).map(Float.init)).permuted([0, 2, 1, 3])
        XCTAssertFalse(two.isContiguous, "two tokens: the permute reorders elements")
        XCTAssertFalse(two.contiguous().storage === two.storage)
        XCTAssertEqual(Array(two.contiguous().values.prefix(8)), [0, 1, 2, 3, 12, 13, 14, 15])
        XCTAssertTrue(Tensor(shape: [0, 5]).isContiguous)
        XCTAssertFalse(Tensor(shape: [2, 3]).transposed().isContiguous)
        XCTAssertTrue(Tensor(shape: [1, 3]).transposed().isContiguous, "a row transposed is a column, the same floats")
    }

    func testConcatAndSplit() {
        func joined(_ x: [[Double]]) -> [Double] {
            var out: [Double] = []
            for i in 0..<2 {
                out += x[0][(i * 3)..<(i * 3 + 3)]
                out += x[1][(i * 5)..<(i * 5 + 5)]
            }
            return out
        }
        checkOp(OpCase(name: "concat", shapes: [[2, 3], [2, 5]], engine: { concat([$0[0], $0[1]], axis: 1) }, reference: joined))
        checkOp(OpCase(name: "split", shapes: [[6, 4]], engine: { x in
            let parts = x[0].split(axis: 0, sizes: [1, 2, 3])
            return add(scale(parts[2].slice(axis: 0, start: 0, length: 1), 2), parts[0])
        }, reference: { x in (0..<4).map { 2 * x[0][12 + $0] + x[0][$0] } }))
    }
}
