import FactoryEngine
import FactoryHost
@testable import FactoryTraining
import XCTest

/// The buckets of a data-parallel step (GradientBuckets): they learn each tensor's additions per backward,
/// start a bucket once its tensors are final on the step's last micro-batch — in order, even when they finish
/// out of order — and, after an addition a bucket did not expect, hand the step to the one-allreduce path.
/// (One process here: LocalCommunicator's sums are the local gradients; DataParallelTests runs real ranks.)
final class GradientBucketsTests: XCTestCase {
    let c = Tensor(shape: [4], values: [0.5, -1, 2, 0.25])

    func testBucketsStartWhileBackwardRunsAndKeepTheGradients() throws {
        let first = Tensor(shape: [4], values: [1, 2, 3, 4]).requiringGrad(), second = Tensor(shape: [4], values: [4, 3, 2, 1]).requiringGrad()
        let buckets = GradientBuckets([first, second], capBytes: 16, communicator: LocalCommunicator())  // one tensor per bucket
        XCTAssertEqual(buckets.bucketCount, 2)
        func pass() { sum(add(mul(first, c), mul(mul(second, second), c))).backward() }
        try buckets.backward(last: false) { pass() }  // learns: one addition each
        XCTAssertEqual(buckets.startedEarly, 0, "nothing starts before the step's last micro-batch")
        try buckets.backward(last: true) { pass() }
        XCTAssertEqual(buckets.startedEarly, 2, "both buckets started inside backward")
        var again = false
        let sums = try buckets.finish(scalars: [3]) { again = true; return $0 }
        XCTAssertFalse(again)
        XCTAssertEqual(sums, [3])
        XCTAssertEqual(first.grad?.values, c.values.map { 2 * $0 }, "two micro-batches' gradients, from the bucket")
        XCTAssertEqual(second.grad?.values, zip([4, 3, 2, 1] as [Float], c.values).map { 2 * 2 * $0 * $1 })
    }

    func testAnUnexpectedAdditionHandsTheStepToOneAllreduce() throws {
        let w = Tensor(shape: [4], values: [1, 2, 3, 4]).requiringGrad()
        let buckets = GradientBuckets([w], capBytes: 1 << 20, communicator: LocalCommunicator())
        try buckets.backward(last: false) { sum(mul(w, c)).backward() }
        w.zeroGrad()
        try buckets.backward(last: true) {  // two additions where one was learned: the bucket left after the first
            sum(mul(w, c)).backward()
            sum(mul(w, c)).backward()
        }
        var again = false
        _ = try buckets.finish(scalars: [1]) { again = true; return $0 }
        XCTAssertTrue(again, "the step is reduced again from the local gradients")
        XCTAssertEqual(w.grad?.values, c.values.map { 2 * $0 }, "the bucket's stale copy did not replace the gradient")
        // and the next step starts clean
        w.zeroGrad()
        try buckets.backward(last: true) { sum(mul(w, c)).backward() }
        again = false
        _ = try buckets.finish(scalars: [1]) { again = true; return $0 }
        XCTAssertFalse(again)
    }
}
