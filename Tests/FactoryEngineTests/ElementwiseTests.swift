import FactoryEngine
import XCTest

final class ElementwiseTests: XCTestCase {
    let shapePairs: [([Int], [Int])] = [([1], [1]), ([3], [3]), ([17], [1]), ([64], [64]), ([577], [577]), ([3, 17], [17]),
                                        ([17, 64], [1, 64]), ([2, 3, 17], [3, 1]), ([4, 1, 5], [1, 3, 1]), ([3, 577], [3, 1])]

    func testAddSubMulDivWithBroadcasting() {
        let ops: [(String, (Tensor, Tensor) -> Tensor, (Double, Double) -> Double)] = [
            ("add", add, { $0 + $1 }), ("sub", sub, { $0 - $1 }), ("mul", mul, { $0 * $1 }), ("div", div, { $0 / $1 }),
        ]
        for (name, op, f) in ops {
            for (sa, sb) in shapePairs {
                checkOp(OpCase(name: name, shapes: [sa, sb], engine: { op($0[0], $0[1]) },
                               reference: { referenceBroadcast($0[0], sa, $0[1], sb, f) },
                               domain: { k, x in name == "div" && k == 1 ? (x < 0 ? x - 0.5 : x + 0.5) : x }))
            }
        }
    }

    func testScaleAndAddScalar() {
        for n in [1, 3, 17, 64, 577] {
            checkOp(OpCase(name: "scale", shapes: [[n]], engine: { scale($0[0], 2.5) }, reference: { $0[0].map { $0 * 2.5 } }))
            checkOp(OpCase(name: "add_scalar", shapes: [[n]], engine: { addScalar($0[0], -0.75) }, reference: { $0[0].map { $0 - 0.75 } }))
        }
    }

    func testSumAndMean() {
        for shape in [[1], [3], [17, 64], [577]] {
            checkOp(OpCase(name: "sum", shapes: [shape], engine: { sum($0[0]) }, reference: { [$0[0].reduce(0, +)] }, forwardTolerance: 1e-5))
            checkOp(OpCase(name: "mean", shapes: [shape], engine: { mean($0[0]) }, reference: { [$0[0].reduce(0, +) / Double($0[0].count)] },
                           forwardTolerance: 1e-5))
        }
        func sumAxis1(_ x: [[Double]]) -> [Double] {
            var out = [Double](repeating: 0, count: 15)
            for i in 0..<3 { for j in 0..<17 { for k in 0..<5 { out[i * 5 + k] += x[0][(i * 17 + j) * 5 + k] } } }
            return out
        }
        func meanLast(_ x: [[Double]]) -> [Double] {
            var out = [Double](repeating: 0, count: 4)
            for i in 0..<4 { for j in 0..<577 { out[i] += x[0][i * 577 + j] / 577 } }
            return out
        }
        checkOp(OpCase(name: "sum axis 1", shapes: [[3, 17, 5]], engine: { sum($0[0], axis: 1) }, reference: sumAxis1))
        checkOp(OpCase(name: "mean axis -1 keepdim", shapes: [[4, 577]], engine: { mean($0[0], axis: -1, keepDim: true) },
                       reference: meanLast, forwardTolerance: 1e-5))
    }

    func testActivations() {
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        onEveryRowKernelPath { path in
            for n in [1, 3, 17, 64, 577] {
                let wide: (Int, Double) -> Double = { _, x in x * 6 }
                checkOp(OpCase(name: "silu (\(path))", shapes: [[n]], engine: { silu($0[0]) }, reference: { $0[0].map { $0 * sigmoid($0) } }, domain: wide))
                checkOp(OpCase(name: "swiglu (\(path))", shapes: [[n], [n]], engine: { swiglu($0[0], $0[1]) },
                               reference: { zip($0[0], $0[1]).map { $0 * sigmoid($0) * $1 } }, domain: wide))
            }
        }
        for n in [1, 3, 17, 64, 577] {
            let wide: (Int, Double) -> Double = { _, x in x * 6 }
            checkOp(OpCase(name: "gelu_tanh", shapes: [[n]], engine: { geluTanh($0[0]) }, reference: {
                $0[0].map { x in 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
            }, domain: wide))
            checkOp(OpCase(name: "gelu_erf", shapes: [[n]], engine: { geluErf($0[0]) }, reference: {
                $0[0].map { x in 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }
            }, domain: wide))
            checkOp(OpCase(name: "softcap", shapes: [[n]], engine: { softcap($0[0], cap: 5) }, reference: {
                $0[0].map { x in 5 * Foundation.tanh(x / 5) }
            }, domain: { _, x in x * 12 }))
        }
    }

    func testExpMatchesLibmAcrossTheRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let v = exp8(F8(repeating: x))[0]
            let ref = Foundation.exp(Double(x))
            worst = max(worst, Float(abs(Double(v) - ref) / ref))
            x += 0.0137
        }
        XCTAssertLessThan(worst, 4e-7, "exp8 relative error")
        XCTAssertEqual(exp8(F8(repeating: -.infinity))[0], 0)
        XCTAssertEqual(exp8(F8(repeating: -100))[0], 0)
        XCTAssertEqual(exp8(F8(repeating: .infinity))[0], .infinity)
        XCTAssertTrue(exp8(F8(repeating: .nan))[0].isNaN)
    }
}
