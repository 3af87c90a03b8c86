import FactoryEngine
import Foundation
import XCTest

final class NormSoftmaxTests: XCTestCase {
    func rows(_ x: [Double], _ D: Int, _ f: (ArraySlice<Double>) -> [Double]) -> [Double] {
        stride(from: 0, to: x.count, by: D).flatMap { f(x[$0..<($0 + D)]) }
    }

    func testRMSNorm() {
        onEveryRowKernelPath { path in
            for D in [1, 3, 17, 64, 577] {
                checkOp(OpCase(name: "rms_norm (\(path))", shapes: [[3, D], [D]], engine: { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }, reference: { x in
                    self.rows(x[0], D) { r in
                        let rs = 1 / (r.reduce(0) { $0 + $1 * $1 } / Double(D) + 1e-5).squareRoot()
                        return r.enumerated().map { $0.element * rs * x[1][$0.offset] }
                    }
                }, forwardTolerance: 1e-5, gradientTolerance: 5e-4))
            }
        }
    }

    func testLayerNorm() {
        for D in [3, 17, 64, 577] {
            checkOp(OpCase(name: "layer_norm", shapes: [[2, D], [D], [D]], engine: { layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) },
                           reference: { x in
                               self.rows(x[0], D) { r in
                                   let mu = r.reduce(0, +) / Double(D)
                                   let v = r.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(D)
                                   return r.enumerated().map { ($0.element - mu) / (v + 1e-5).squareRoot() * x[1][$0.offset] + x[2][$0.offset] }
                               }
                           }, forwardTolerance: 1e-5, gradientTolerance: 5e-4))
        }
    }

    func softmaxRef(_ r: ArraySlice<Double>) -> [Double] {
        let m = r.max()!
        let e = r.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func testSoftmaxAndLogSoftmax() {
        onEveryRowKernelPath { path in
            for D in [1, 3, 17, 64, 577] {
                let wide: (Int, Double) -> Double = { _, x in x * 8 }
                checkOp(OpCase(name: "softmax (\(path))", shapes: [[4, D]], engine: { softmax($0[0]) }, reference: { x in self.rows(x[0], D, self.softmaxRef) },
                               domain: wide, forwardTolerance: 1e-6))
                checkOp(OpCase(name: "log_softmax (\(path))", shapes: [[4, D]], engine: { logSoftmax($0[0]) }, reference: { x in
                    self.rows(x[0], D) { r in self.softmaxRef(r).map { Foundation.log($0) } }
                }, domain: wide, forwardTolerance: 1e-6))
            }
        }
    }

    func testCrossEntropyIgnoresMinus100AndAveragesTheRest() {
        onEveryRowKernelPath { path in
            for V in [1, 3, 17, 577] {
                let labels = [0, ignoreIndex, V - 1, V / 2, ignoreIndex]
                checkOp(OpCase(name: "cross_entropy (\(path))", shapes: [[5, V]], engine: { crossEntropy($0[0], labels: labels) }, reference: { x in
                    var total = 0.0, n = 0.0
                    for (row, label) in labels.enumerated() where label != ignoreIndex {
                        let r = x[0][(row * V)..<(row * V + V)]
                        let m = r.max()!
                        total += m + Foundation.log(r.reduce(0) { $0 + Foundation.exp($1 - m) }) - r[r.startIndex + label]
                        n += 1
                    }
                    return [total / n]
                }, domain: { _, x in x * 5 }, forwardTolerance: 1e-6))
            }
        }
        let allIgnored = Tensor(shape: [2, 4], values: [Float](repeating: 1, count: 8)).requiringGrad()
        let loss = crossEntropy(allIgnored, labels: [ignoreIndex, ignoreIndex])
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        XCTAssertEqual(allIgnored.grad?.values, [Float](repeating: 0, count: 8))
    }

    func testEmbeddingGathersAndScatterAdds() {
        let ids = [2, 0, 2, 4]
        checkOp(OpCase(name: "embedding", shapes: [[5, 17]], engine: { embedding($0[0], ids: ids) }, reference: { x in
            ids.flatMap { Array(x[0][($0 * 17)..<($0 * 17 + 17)]) }
        }))
    }
}
