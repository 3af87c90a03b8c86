// What the page follows of a job the web UI started: its events as they happen (server-sent events from the
// job's output log and its output_dir's trainer_log.jsonl) and, once it has written them, its results (the
// metrics file of its kind and the first generated predictions).
import FactoryJSON
import Foundation
import Hummingbird

enum RunEvents {
    /// How many generated predictions the page is shown (the file holds them all).
    static let shownPredictions = 20

    /// A run's events as they happen, until the run ended and everything was sent:
    /// - `output`: a line the run printed (ended by a newline);
    /// - `progress`: a line the run overwrote in place (ended by a carriage return, as a terminal's counter is);
    /// - `step`: a trainer_log.jsonl record;
    /// - `status`: the run's record, when it changes.
    static func response(_ runs: WebRuns, _ id: Int) -> Response {
        let body = ResponseBody { writer in
            var outputOffset: UInt64 = 0, stepsOffset: UInt64 = 0, lastStatus = ""
            while let run = runs.run(id) {
                let ended = run.exitStatus != nil
                for (line, transient) in newLines(run.log, from: &outputOffset) {
                    try await writer.write(ByteBuffer(string: sse(transient ? "progress" : "output", .string(line))))
                }
                for (line, _) in newLines(run.outputDir + "/trainer_log.jsonl", from: &stepsOffset) {
                    if let record = try? JSON.parse(line) { try await writer.write(ByteBuffer(string: sse("step", record))) }
                }
                let status = run.json.serialized()
                if status != lastStatus {
                    try await writer.write(ByteBuffer(string: sse("status", run.json)))
                    lastStatus = status
                }
                if ended { break }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// The lines added to `path` since `offset` (which moves past them), each ended by a newline or a carriage
    /// return (`transient`: the run overwrites it in place); an unended last line waits for its end. Empty lines
    /// are dropped.
    static func newLines(_ path: String, from offset: inout UInt64) -> [(String, transient: Bool)] {
        guard let file = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? file.close() }
        guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.readToEnd(),
              let end = data.lastIndex(where: { $0 == 10 || $0 == 13 }) else { return [] }
        var lines: [(String, transient: Bool)] = [], start = data.startIndex
        for i in data.startIndex...end where data[i] == 10 || data[i] == 13 {
            if i > start { lines.append((String(decoding: data[start..<i], as: UTF8.self), transient: data[i] == 13)) }
            start = i + 1
        }
        offset += UInt64(end - data.startIndex + 1)
        return lines
    }

    /// A finished job's results: `metrics`, the scores its kind writes (predict: predict_results.json; train:
    /// all_results.json; eval: the category scores of results.log, "Average: 30.00" a line, as LLaMA-Factory
    /// writes it, results.json holding each question's choice), and for predict `predictions`, the first rows of
    /// generated_predictions.jsonl; null where the file is not there.
    static func results(of run: WebRuns.Run) -> JSON {
        let read = { (name: String) in FileManager.default.contents(atPath: run.outputDir + "/" + name).map { String(decoding: $0, as: UTF8.self) } }
        var metrics = ["predict": "predict_results.json", "train": "all_results.json"][run.job].flatMap(read).flatMap { try? JSON.parse($0) }
        if run.job == "eval" {
            metrics = read("results.log").map { log in
                .object(JSONObject(log.split(separator: "\n").compactMap { line -> (String, JSON)? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let score = Double(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
                    return (parts[0].trimmingCharacters(in: .whitespaces), .double(score))
                }))
            }
        }
        var predictions: JSON = .null
        if run.job == "predict", let data = FileManager.default.contents(atPath: run.outputDir + "/generated_predictions.jsonl") {
            let rows = String(decoding: data, as: UTF8.self).split(separator: "\n").prefix(shownPredictions).compactMap { try? JSON.parse(String($0)) }
            predictions = .array(rows)
        }
        return .object(JSONObject([("metrics", metrics ?? .null), ("predictions", predictions)]))
    }

    static func sse(_ event: String, _ data: JSON) -> String { "event: \(event)\ndata: \(data.serialized())\n\n" }
}
