import Dispatch
import FactoryEngine
import Synchronization
import XCTest

/// SpinningWorkers runs every part of a job exactly once, before `run` returns, also when jobs come
/// from several threads at once and when a part starts a job of its own (those run their parts serially).
final class SpinningWorkersTests: XCTestCase {
    func testEveryPartRunsOnceAlsoUnderConcurrentAndNestedCalls() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(3)
        let counts = Mutex<[Int]>([Int](repeating: 0, count: 3 * 200))
        let nested = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<50 {
                let job = caller * 50 + round
                SpinningWorkers.shared.run { part, parts in
                    XCTAssertEqual(parts, 3)
                    counts.withLock { $0[job * 3 + part] += 1 }
                    if part == 1 && round % 10 == 0 {
                        SpinningWorkers.shared.run { _, _ in nested.add(1, ordering: .relaxed) }
                    }
                }
                // run returned: this job's parts are all done
                XCTAssertEqual(counts.withLock { Array($0[(job * 3)..<(job * 3 + 3)]) }, [1, 1, 1], "job \(job)")
            }
        }
        XCTAssertEqual(counts.withLock { $0 }, [Int](repeating: 1, count: 600))
        XCTAssertEqual(nested.load(ordering: .relaxed), 4 * 5 * 3, "each nested job ran all three of its parts")
    }
}
