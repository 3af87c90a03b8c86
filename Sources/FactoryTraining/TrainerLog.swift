// Progress: one terminal line per logging step (step, loss, learning rate, gradient norm,
// tokens/s, ETA) and LLaMA-Factory's trainer_log.jsonl record, appended line by line.
import FactoryFormats
import FactoryJSON
import Foundation

final class TrainerLog {
    let directory: String
    let total: Int
    let plan: BatchPlan
    let print: (String) -> Void
    /// Until the first record is written: the step up to which the previous log's records are kept (0 for
    /// a fresh run). The first write replaces the file atomically; later ones append.
    private var keepUpTo: Int?

    init(directory: String, total: Int, plan: BatchPlan, print: @escaping (String) -> Void, keepingRecordsUpTo step: Int) {
        (self.directory, self.total, self.plan, self.print, keepUpTo) = (directory, total, plan, print, step)
    }

    var path: String { directory + "/trainer_log.jsonl" }

    /// The records of `directory`'s trainer_log.jsonl, in order (a resumed run's earlier part included);
    /// none when there is no log yet.
    static func records(in directory: String) -> [JSON] {
        ((try? FileSystem.read(directory + "/trainer_log.jsonl")) ?? []).split(separator: 0x0A).compactMap { try? JSON.parse(bytes: Array($0)) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    /// One logging step: the mean loss of `records`, the gradient norm of the last, `learningRate` (the
    /// scheduler's value after the step, as transformers logs it), and LLaMA-Factory's fields. `tokens`: seen by
    /// this invocation (for the rate); `totalTokens`: since the run began, a resumed part included.
    func write(_ records: [StepRecord], step: Int, learningRate lr: Double, elapsed: Double, stepsDone: Int, tokens: Int, totalTokens: Int) throws {
        guard !records.isEmpty else { return }
        let loss = records.map(\.loss).reduce(0, +) / Double(records.count)
        let norm = records.last!.gradNorm
        let metrics = TrainerLog.combine(records.map(\.metrics))
        let remaining = stepsDone > 0 ? elapsed / Double(stepsDone) * Double(total - step) : 0
        let rate = elapsed > 0 ? Double(tokens) / elapsed : 0
        let width = 24, filled = total > 0 ? width * step / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        print(String(format: "%@ %d/%d  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s  %@<%@", bar, step, total, loss, lr, norm, rate,
                     TrainerLog.clock(elapsed), TrainerLog.clock(remaining)) + TrainerLog.preferenceSummary(metrics))
        var record = JSONObject([
            ("current_steps", .int(Int64(step))), ("total_steps", .int(Int64(total))), ("loss", .double((loss * 1e4).rounded() / 1e4)),
            ("lr", .double(lr)), ("grad_norm", .double(norm)), ("epoch", .double((plan.epoch(afterSteps: step) * 100).rounded() / 100)),
            ("percentage", .double((Double(step) / Double(total) * 1e4).rounded() / 100)), ("elapsed_time", .string(TrainerLog.clock(elapsed))),
            ("remaining_time", .string(TrainerLog.clock(remaining))), ("tokens_per_second", .double(rate.rounded())),
            // LLaMA-Factory's names (include_num_input_tokens_seen): tokens per second and the tokens seen so far
            ("throughput", .double((rate * 100).rounded() / 100)), ("total_tokens", .int(Int64(totalTokens))),
        ])
        TrainerLog.add(metrics, to: &record, prefix: "")
        try append(JSON.object(record).serialized())
    }

    /// The mean of each metric over the records that have it (TRL averages what it stored since the last log).
    static func mean(_ all: [[String: Double]]) -> [String: Double] {
        var sums: [String: (Double, Int)] = [:]
        for m in all { for (k, v) in m { sums[k, default: (0, 0)].0 += v; sums[k, default: (0, 0)].1 += 1 } }
        return sums.mapValues { $0.0 / Double($0.1) }
    }

    /// The logged metrics of a window of steps: the mean of each, except stage kto's sums and counts, which add
    /// up over the window and become averages (LLaMA-Factory's KTO log: rewards/chosen = the chosen rewards'
    /// sum / their count, margins = chosen − rejected) and its kl, the sum of the batches' estimates.
    static func combine(_ all: [[String: Double]]) -> [String: Double] {
        guard all.contains(where: { $0.keys.contains { $0.hasPrefix("count/") } }) else { return mean(all) }
        var sums: [String: Double] = [:]
        for m in all { for (k, v) in m { sums[k, default: 0] += v } }
        var out: [String: Double] = [:]
        for split in ["chosen", "rejected"] {
            guard let count = sums["count/\(split)"], count > 0 else { continue }
            for key in ["rewards", "logps"] { out["\(key)/\(split)"] = (sums["\(key)/\(split)_sum"] ?? 0) / count }
        }
        if let c = out["rewards/chosen"], let r = out["rewards/rejected"] { out["rewards/margins"] = c - r }
        if let kl = sums["kl"] { out["kl"] = kl }
        return out
    }

    /// Metrics into a trainer_log.jsonl record, sorted by name, under TRL's names (with `prefix`), plus
    /// LLaMA-Factory's own `reward` and `accuracy` fields (from rewards/chosen and rewards/accuracies).
    static func add(_ metrics: [String: Double], to record: inout JSONObject, prefix: String) {
        for (k, v) in metrics.sorted(by: { $0.key < $1.key }) { record[prefix + k] = .double(v) }
        if prefix.isEmpty, let r = metrics["rewards/chosen"] { record["reward"] = .double(r) }
        if prefix.isEmpty, let a = metrics["rewards/accuracies"] { record["accuracy"] = .double(a) }
    }

    /// "  acc 0.75  margin 0.123" (dpo), "  kl 0.01  margin 0.123" (kto), "  accuracy 0.75" (rm evaluation), or "".
    static func preferenceSummary(_ m: [String: Double]) -> String {
        if let accuracy = m["rewards/accuracies"], let margin = m["rewards/margins"] { return String(format: "  acc %.2f  margin %.4f", accuracy, margin) }
        if let kl = m["kl"] { return String(format: "  kl %.4f", kl) + (m["rewards/margins"].map { String(format: "  margin %.4f", $0) } ?? "") }
        if let accuracy = m["accuracy"] { return String(format: "  accuracy %.2f", accuracy) }
        return ""
    }

    /// The live bar: this step's loss, the rate so far, elapsed<remaining; redrawn in place on stderr.
    func live(_ r: StepRecord, step: Int, elapsed: Double, stepsDone: Int, tokens: Int) {
        let remaining = stepsDone > 0 ? elapsed / Double(stepsDone) * Double(total - step) : 0
        let width = 24, filled = total > 0 ? width * step / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "\r%@ %d/%d  loss %.4f  lr %.2e  %.0f tok/s  %@<%@\u{1B}[K", bar, step, total, r.loss, r.learningRate,
                          elapsed > 0 ? Double(tokens) / elapsed : 0, TrainerLog.clock(elapsed), TrainerLog.clock(remaining))
        fputs(line, stderr)
        fflush(stderr)
    }

    func writeEval(_ loss: Double, metrics: [String: Double] = [:], step: Int) throws {
        print(String(format: "eval at step %d: eval_loss %.4f", step, loss) + TrainerLog.preferenceSummary(metrics))
        var record = JSONObject([("current_steps", .int(Int64(step))), ("total_steps", .int(Int64(total))), ("eval_loss", .double(loss))])
        TrainerLog.add(metrics, to: &record, prefix: "eval_")
        try append(JSON.object(record).serialized())
    }

    func append(_ line: String) throws {
        if let keep = keepUpTo {
            let previous = ((try? FileSystem.read(path)) ?? []).split(separator: 0x0A).filter { record in
                guard let step = (try? JSON.parse(bytes: Array(record)))?["current_steps"]?.intValue else { return false }
                return step <= keep
            }
            try AtomicFile.write(previous.flatMap { Array($0) + [0x0A] } + Array((line + "\n").utf8), to: path)
            keepUpTo = nil
            return
        }
        guard let f = fopen(path, "ab") else { throw TrainingError("\(path): cannot append the training log (\(FileSystem.reason()))") }
        let bytes = Array((line + "\n").utf8)
        var failure = fwrite(bytes, 1, bytes.count, f) == bytes.count ? nil : FileSystem.reason()
        if fclose(f) != 0 && failure == nil { failure = FileSystem.reason() }
        if let failure { throw TrainingError("\(path): writing the training log failed (\(failure))") }
    }
}
