// OpenAI's stop sequences end the answer and are not part of it. Text is streamed as the model makes it,
// except a tail that might still become a stop sequence, which waits until it cannot.

/// Streams text with the request's stop sequences held back and cut.
struct StopTextFilter {
    let stops: [String]
    private(set) var text = ""
    private var sent = 0  // characters of `text` already handed out
    private(set) var stopped = false

    init(stops: [String]) { self.stops = stops }

    /// Takes the model's next piece; returns what may be sent now.
    mutating func feed(_ piece: String) -> String {
        guard !stopped else { return "" }
        text += piece
        if let (range, _) = stops.compactMap({ s in text.range(of: s).map { ($0, s) } }).min(by: { $0.0.lowerBound < $1.0.lowerBound }) {
            stopped = true
            text = String(text[..<range.lowerBound])
            return release(upTo: text.count)
        }
        // hold back the longest tail that is a prefix of some stop sequence
        var held = 0
        for s in stops {
            for k in stride(from: min(s.count - 1, text.count), to: 0, by: -1) where text.hasSuffix(String(s.prefix(k))) {
                held = max(held, k)
                break
            }
        }
        return release(upTo: text.count - held)
    }

    /// What is still held back, at the end (no stop sequence came).
    mutating func finish() -> String { release(upTo: text.count) }

    private mutating func release(upTo end: Int) -> String {
        guard end > sent else { return "" }
        let out = String(text.dropFirst(sent).prefix(end - sent))
        sent = end
        return out
    }
}
