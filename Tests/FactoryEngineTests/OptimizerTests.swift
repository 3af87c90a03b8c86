import FactoryEngine
import Foundation
import XCTest

/// AdamW, clipping and the LR schedules against values written from torch's and
/// transformers' documented formulas.
final class OptimizerTests: XCTestCase {
    func testScheduleValuesForTenStepsWithTwoWarmup() {
        func table(_ s: LRSchedule) -> [Double] { (0...10).map { s.multiplier(step: $0, total: 10, warmup: 2, baseLR: 1e-3) } }
        func assertClose(_ a: [Double], _ b: [Double], _ name: String) {
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-12, "\(name): \(a) vs \(b)") }
        }
        assertClose(table(.constant), [Double](repeating: 1, count: 11), "constant")
        assertClose(table(.constantWithWarmup), [0, 0.5] + [Double](repeating: 1, count: 9), "constant_with_warmup")
        assertClose(table(.linear), [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0], "linear")
        // cosine: 0.5·(1 + cos(π·progress)), progress = (s-2)/8
        func cosineAt(_ s: Int) -> Double { 0.5 * (1 + cos(Double.pi * Double(s - 2) / 8)) }
        func polynomialAt(_ s: Int) -> Double { ((1e-3 - 1e-7) * (1 - Double(s - 2) / 8) + 1e-7) / 1e-3 }
        func inverseSqrtAt(_ s: Int) -> Double { 1 / (Double(s) / 2).squareRoot() }
        let warm: [Double] = [0, 0.5]
        assertClose(table(.cosine), warm + (2...10).map(cosineAt), "cosine")
        XCTAssertEqual(LRSchedule.cosine.multiplier(step: 6, total: 10, warmup: 2, baseLR: 1), 0.5, accuracy: 1e-15)
        // one restart cycle: as cosine until progress reaches 1, then 0
        assertClose(table(.cosineWithRestarts), warm + (2...9).map(cosineAt) + [0], "restarts")
        // polynomial, power 1, lr_end 1e-7, lr_init 1e-3: ((1e-3 - 1e-7)·(1 - (s-2)/8) + 1e-7) / 1e-3
        assertClose(table(.polynomial), warm + (2...10).map(polynomialAt), "polynomial")
        XCTAssertEqual(LRSchedule.polynomial.multiplier(step: 10, total: 10, warmup: 2, baseLR: 1e-3), 1e-4, accuracy: 1e-15)
        // inverse_sqrt with timescale = warmup = 2: 1/sqrt(s/2)
        assertClose(table(.inverseSqrt), warm + (2...10).map(inverseSqrtAt), "inverse_sqrt")
        XCTAssertEqual(LRSchedule.inverseSqrt.multiplier(step: 8, total: 10, warmup: 2, baseLR: 1), 0.5, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.warmupSteps(total: 95, warmupSteps: 0, warmupRatio: 0.1), 10)  // ceil(9.5)
        XCTAssertEqual(LRSchedule.warmupSteps(total: 95, warmupSteps: 3, warmupRatio: 0.1), 3)
    }

    func testClipGradNormScalesByMaxOverTotalPlusEpsilon() {
        let a = Tensor(shape: [2], values: [0, 0]).requiringGrad(), b = Tensor(shape: [1], values: [0]).requiringGrad()
        a.grad = Tensor(shape: [2], values: [3, 0])
        b.grad = Tensor(shape: [1], values: [4])
        let total = clipGradNorm([a, b], maxNorm: 1)
        XCTAssertEqual(total, 5, accuracy: 1e-6)
        XCTAssertEqual(Double(a.grad!.values[0]), 3 / (5 + 1e-6), accuracy: 1e-7)
        XCTAssertEqual(Double(b.grad!.values[0]), 4 / (5 + 1e-6), accuracy: 1e-7)
        // Below the limit nothing changes.
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(Double(a.grad!.values[0]), 3 / (5 + 1e-6), accuracy: 1e-7)
    }

    func testTheFirstAdamStepMovesEachWeightByTheLearningRate() {
        let w = Tensor(shape: [3], values: [1, -2, 0.5]).requiringGrad()
        let opt = AdamW(lr: 0.1)
        opt.add(w)
        w.grad = Tensor(shape: [3], values: [0.3, -4, 1e-3])
        opt.step()
        // m̂ = g, v̂ = g², so the step is lr · g / (|g| + eps)
        let expected: [Double] = [1 - 0.1 * 0.3 / (0.3 + 1e-8), -2 + 0.1 * 4 / (4 + 1e-8), 0.5 - 0.1 * 1e-3 / (1e-3 + 1e-8)]
        for (x, y) in zip(w.values, expected) { XCTAssertEqual(Double(x), y, accuracy: 1e-6) }
    }

    /// Ten steps of a toy regression with weight decay, warmup + cosine schedule and clipping,
    /// against torch's documented AdamW algorithm in Double.
    func testAdamWWithScheduleAndClippingFollowsTorchsAlgorithmForTenSteps() {
        let target: [Double] = [0.5, -1.5, 2, 0.25, -0.75]
        var reference: [Double] = [0.1, 0.2, -0.3, 0.4, -0.5]
        let w = Tensor(shape: [5], values: reference.map(Float.init)).requiringGrad()
        let t = Tensor(shape: [5], values: target.map(Float.init))
        let (baseLR, wd, b1, b2, eps, maxNorm) = (0.05, 0.01, 0.9, 0.999, 1e-8, 1.0)
        let opt = AdamW(lr: baseLR, betas: (b1, b2), eps: eps)
        opt.add(w, weightDecay: wd)
        var m = [Double](repeating: 0, count: 5), v = m
        for step in 0..<10 {
            // engine
            let lr = baseLR * LRSchedule.cosine.multiplier(step: step, total: 10, warmup: 2, baseLR: baseLR)
            opt.lr = lr
            let diff = sub(w, t)
            let loss = sum(mul(diff, diff))
            loss.backward()
            clipGradNorm([w], maxNorm: maxNorm)
            opt.step()
            opt.zeroGrad()
            // reference (torch docs: decoupled decay, bias-corrected moments, eps after the sqrt)
            var g = zip(reference, target).map { 2 * ($0 - $1) }
            let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let coef = min(maxNorm / (norm + 1e-6), 1)
            g = g.map { $0 * coef }
            let tt = Double(step + 1)
            for i in 0..<5 {
                reference[i] *= 1 - lr * wd
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mHat = m[i] / (1 - pow(b1, tt)), vHat = v[i] / (1 - pow(b2, tt))
                reference[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            for (x, y) in zip(w.values, reference) { XCTAssertEqual(Double(x), y, accuracy: 2e-6, "step \(step + 1)") }
        }
        XCTAssertEqual(opt.stepCount, 10)
    }
}
