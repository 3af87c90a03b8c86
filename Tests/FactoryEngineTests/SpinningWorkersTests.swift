import Dispatch
import Foundation
@testable import FactoryEngine
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

    /// Job numbers pass 2³¹ (after ~28 hours of decoding) and parts are still claimed: the claims word keeps
    /// 31 bits of the number, so it never turns negative (a negative word made every claim fail, the caller
    /// waiting forever for parts nobody could take).
    func testPartsAreStillClaimedPastTheThirtyFirstBitOfTheJobNumber() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        SpinningWorkers.shared.run { _, _ in }  // helpers started
        // On a thread of its own, so that a caller waiting forever fails the test instead of hanging it.
        let finished = DispatchSemaphore(value: 0)
        let counts = Mutex<[[Int]]>([])
        Thread.detachNewThread {
            for start in [(1 << 31) - 4, (1 << 32) - 4] {
                SpinningWorkers.shared.continueNumbering(from: start)
                for _ in 0..<12 {
                    let parts = Mutex<[Int]>([0, 0])
                    SpinningWorkers.shared.run { part, _ in parts.withLock { $0[part] += 1 } }
                    counts.withLock { $0.append(parts.withLock { $0 }) }
                }
            }
            finished.signal()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success, "jobs numbered past 2³¹ never finished")
        XCTAssertEqual(counts.withLock { $0 }, [[Int]](repeating: [1, 1], count: 24), "every part of every job ran once")
    }
}
