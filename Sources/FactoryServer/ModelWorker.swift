// The one thread that touches the model: Factory's engine keeps per-thread state (the execution context,
// the active parameter store, the linear hook), so the model is loaded and every answer decodes here, while
// the HTTP server's event loops only parse, queue and stream. Requests' choices wait in a bounded queue
// and join the batch decoder between its steps whenever a row is free (continuous batching); a request
// whose choices do not fit in the queue is refused at once, so memory never grows with the load.
import FactoryPipeline
import Foundation

/// The model's thread: start-up jobs, then the queue of choices and the decoding loop.
final class ModelWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var waiting: [ChoiceJob] = []
    private var stopped = false
    /// Sequences decoding now (updated by the worker after each step; read by /metrics).
    private var decoding = 0
    /// Choices that may wait for a row (set by `serve`).
    private var queueSize = 0
    /// Set by `serve` on the worker thread; read there only.
    private var completer: Completer?
    private var decoder: BatchDecoder?

    /// Starts the thread.
    init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "factory-model"
        thread.stackSize = 16 << 20
        thread.start()
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

    /// Serves choices with `completer`, up to `maxSequences` decoding together (one at a time when the
    /// model family cannot batch: the returned line says so) and `queueSize` waiting. Call on the worker
    /// (from runAndWait).
    func serve(_ completer: Completer, maxSequences: Int, queueSize: Int) -> String {
        decoder = BatchDecoder(model: completer.model, maxSequences: maxSequences)
        condition.lock()
        (self.completer, self.queueSize) = (completer, queueSize)
        condition.unlock()
        return decoder != nil ? "continuous batching: up to \(maxSequences) sequences decode together, \(queueSize) more may wait"
            : "the \(completer.model.family.component.name) model family has no forward_rows (plugin ABI 1.8): requests decode one at a time, \(queueSize) may wait"
    }

    /// Queues every choice of a request, or none: false when the queue cannot take them all or the worker stopped.
    func submit(_ choices: [ChoiceJob]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, waiting.count + choices.count <= queueSize else { return false }
        waiting += choices
        condition.signal()
        return true
    }

    /// Choices waiting for a row, and sequences decoding.
    var load: (waiting: Int, decoding: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (waiting.count, decoding)
    }

    /// Lets the queued and running choices finish, then ends the thread.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && (waiting.isEmpty || completer == nil) && decoding == 0 && !stopped { condition.wait() }
            if stopped && jobs.isEmpty && (waiting.isEmpty || completer == nil) && decoding == 0 { condition.unlock(); return }
            let job = jobs.isEmpty ? nil : jobs.removeFirst()
            var admitted: [ChoiceJob] = []
            if completer != nil {
                let room = decoder.map { $0.maxSequences - $0.count } ?? 1
                admitted = Array(waiting.prefix(room))
                waiting.removeFirst(admitted.count)
            }
            condition.unlock()
            job?()
            if let completer {
                for choice in admitted {
                    if let decoder { completer.start(choice, in: decoder) } else { completer.runAlone(choice) }
                }
            }
            decoder?.step()
            condition.lock()
            decoding = decoder?.count ?? 0
            condition.unlock()
        }
    }
}
