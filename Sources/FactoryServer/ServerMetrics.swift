// GET /metrics in Prometheus' text format: requests by path and status, prompt and completion tokens, and
// the model worker's queue depth and batch size — what a scraper needs to see load and back-pressure.
import Foundation

/// Counters shared by the routes; safe from any thread.
final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]  // "path status" → count
    private var promptTokens = 0, completionTokens = 0

    func record(path: String, status: Int, prompt: Int = 0, completion: Int = 0) {
        lock.lock()
        requests["\(path) \(status)", default: 0] += 1
        promptTokens += prompt
        completionTokens += completion
        lock.unlock()
    }

    /// The exposition text, with the queue depth and batch size read now.
    func text(queueDepth: Int, batchSize: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        var lines = ["# HELP factory_requests_total Requests answered, by path and HTTP status.", "# TYPE factory_requests_total counter"]
        for (key, count) in requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ")
            lines.append("factory_requests_total{path=\"\(parts[0])\",status=\"\(parts[1])\"} \(count)")
        }
        lines += ["# HELP factory_prompt_tokens_total Prompt tokens of answered requests.", "# TYPE factory_prompt_tokens_total counter",
                  "factory_prompt_tokens_total \(promptTokens)",
                  "# HELP factory_completion_tokens_total Tokens generated.", "# TYPE factory_completion_tokens_total counter",
                  "factory_completion_tokens_total \(completionTokens)",
                  "# HELP factory_queue_depth Choices (sequences) waiting for a row of the batch.", "# TYPE factory_queue_depth gauge",
                  "factory_queue_depth \(queueDepth)",
                  "# HELP factory_batch_size Sequences decoding together now.", "# TYPE factory_batch_size gauge",
                  "factory_batch_size \(batchSize)"]
        return lines.joined(separator: "\n") + "\n"
    }
}
