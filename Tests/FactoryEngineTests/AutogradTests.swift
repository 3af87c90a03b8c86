import FactoryEngine
import XCTest

final class AutogradTests: XCTestCase {
    func testGradientsAccumulateAcrossMicroBatchesUntilCleared() {
        let w = Tensor(shape: [2], values: [1, 2]).requiringGrad()
        for x in [[3, 4], [5, 6]] as [[Float]] {
            sum(mul(w, Tensor(shape: [2], values: x))).backward()
        }
        XCTAssertEqual(w.grad?.values, [8, 10])
        w.zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testNoGradRecordsNothing() {
        let w = Tensor(shape: [2], values: [1, 2]).requiringGrad()
        let y = GradMode.disabled { mul(w, w) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(mul(w, w).requiresGrad)
    }

    func testAReusedTensorSumsItsGradients() {
        let x = Tensor(shape: [3], values: [1, 2, 3]).requiringGrad()
        let y = add(mul(x, x), scale(x, 3))  // d/dx = 2x + 3
        sum(y).backward()
        XCTAssertEqual(x.grad?.values, [5, 7, 9])
    }

    func testCheckpointGivesIdenticalResultsAndGradients() throws {
        // The block's linears go through the hook, so the checkpoint keeps their outputs and
        // backward replays them (dx = g·W, dW = gᵀ·x); dropout inside must repeat exactly.
        func block(_ x: Tensor) throws -> Tensor {
            let h = dropout(silu(try EngineHooks.linear("w1", x)), p: 0.1, seed: 99)
            return rmsNorm(try EngineHooks.linear("w2", h), weight: Tensor.full([8], 1), eps: 1e-6)
        }
        var rng = Uniform(state: 5)
        let xv = (0..<24).map { _ in Float(rng.next()) }, w1v = (0..<48).map { _ in Float(rng.next()) }, w2v = (0..<48).map { _ in Float(rng.next()) }
        let previous = ParameterStore.active
        defer { ParameterStore.active = previous }
        var results: [[Float]] = []
        for (useCheckpoint, keepLinears) in [(false, false), (true, false), (true, true)] {
            GradientCheckpointing.keepLinearOutputs = keepLinears
            defer { GradientCheckpointing.keepLinearOutputs = true }
            let store = ParameterStore()
            ParameterStore.active = store
            let x = Tensor(shape: [3, 8], values: xv).requiringGrad()
            let w1 = Tensor(shape: [6, 8], values: w1v).requiringGrad(), w2 = Tensor(shape: [8, 6], values: w2v).requiringGrad()
            store["w1.weight"] = w1
            store["w2.weight"] = w2
            let y = useCheckpoint ? try checkpoint(x, block) : try block(x)
            let loss = sum(mul(y, y))
            loss.backward()
            XCTAssertNil(GradMode.backwardFailure)
            results.append(y.values + [loss.item] + x.grad!.values + w1.grad!.values + w2.grad!.values)
        }
        XCTAssertEqual(results[0], results[1], "full recomputation")
        XCTAssertEqual(results[0], results[2], "kept linear outputs")
    }

    func testTrainingStepsDoNotGrowMemory() {
        let w = Tensor(shape: [64, 64], values: (0..<4096).map { Float($0 % 7) / 70 }).requiringGrad()
        let opt = AdamW(lr: 1e-3)
        opt.add(w)
        let x = Tensor(shape: [16, 64], values: (0..<1024).map { Float($0 % 5) / 50 })
        func step() {
            let loss = crossEntropy(linear(silu(linear(x, w)), w), labels: (0..<16).map { $0 % 64 })
            loss.backward()
            opt.step()
            opt.zeroGrad()
        }
        for _ in 0..<10 { step() }
        let before = BufferPool.shared.live
        for _ in 0..<1000 { step() }
        XCTAssertEqual(BufferPool.shared.live, before, "live bytes grew over 1,000 steps")
    }
}
