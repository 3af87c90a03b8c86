// The one thread that touches the model: Factory's engine keeps per-thread state (the execution context,
// the active parameter store, the linear hook), so the model is loaded and every generation runs here,
// one job after another, while the HTTP server's event loops only parse, queue and stream. A job that
// cannot join the queue (it is full) is refused at once, so memory never grows with the load.
import Foundation

/// A serial worker thread with a bounded queue of jobs.
final class ModelWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopped = false
    private let capacity: Int

    /// Starts the thread; `capacity` jobs may wait beside the running one.
    init(capacity: Int) {
        self.capacity = capacity
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "factory-model"
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Queues `job`; false when the queue is full or the worker stopped.
    func submit(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, jobs.count < capacity else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Runs `body` on the worker and waits for it (start-up: loading the model).
    func runAndWait<T>(_ body: @escaping () throws -> T) throws -> T {
        var result: Result<T, Error>?
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append { result = Result { try body() }; done.signal() }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }

    /// Jobs waiting (not the running one).
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Lets the queued jobs finish, then ends the thread.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
