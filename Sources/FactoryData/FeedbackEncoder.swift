/// A stage kto example: one answer with LLaMA-Factory's label (desirable or not), and the same prompt with
/// another row's answer (the KL example, whose log-probability estimates the KL term).
public struct FeedbackExample: Equatable, Sendable {
    public var target: EncodedExample
    public var kl: EncodedExample
    public var desirable: Bool

    public init(target: EncodedExample, kl: EncodedExample, desirable: Bool) { (self.target, self.kl, self.desirable) = (target, kl, desirable) }
}

extension SupervisedEncoder {
    /// LLaMA-Factory's feedback processing: the prompt is every turn but the last answer; the KL example
    /// pairs it with `klAnswer`; each of the two is cut to cutoff_len by infer_seqlen on its own. Labels
    /// are -100 on the prompt.
    public func encodeFeedback(_ c: Conversation, klAnswer: Message) throws -> FeedbackExample {
        guard let desirable = c.ktoTag else { throw DataError("\(c.origin): a stage kto row needs its kto_tag (true: desirable, false: undesirable)") }
        guard let answer = c.messages.last, answer.role == "assistant" else { throw DataError("\(c.origin): a stage kto row ends with the assistant's answer") }
        func example(_ reply: Message) throws -> EncodedExample {
            var conversation = c
            conversation.messages[conversation.messages.count - 1] = reply
            let pairs = try self.pairs(conversation)
            guard let last = pairs.last else { throw DataError("\(c.origin): the template produced no answer to learn") }
            let prompt = pairs.dropLast().flatMap { $0.source + $0.target } + last.source
            let (promptLen, answerLen) = SupervisedEncoder.inferSeqlen(source: prompt.count, target: last.target.count, cutoff: options.cutoffLen)
            let a = Array(last.target.prefix(answerLen))
            return EncodedExample(inputIDs: Array(prompt.prefix(promptLen)) + a, labels: [Int](repeating: SupervisedEncoder.ignore, count: promptLen) + a)
        }
        return FeedbackExample(target: try example(answer), kl: try example(klAnswer), desirable: desirable)
    }

    /// Every row's feedback example, each row's KL answer the previous row's answer within chunks of
    /// `chunk` rows, the first taking the chunk's last (LLaMA-Factory rotates the answers of each
    /// preprocessing batch, preprocessing_batch_size rows, 1000 by default).
    public func encodeFeedback(_ conversations: [Conversation], chunk: Int = 1000) throws -> [FeedbackExample] {
        var out: [FeedbackExample] = []
        for start in stride(from: 0, to: conversations.count, by: max(chunk, 1)) {
            let part = Array(conversations[start..<min(conversations.count, start + max(chunk, 1))])
            for (i, c) in part.enumerated() {
                guard let previous = part[(i + part.count - 1) % part.count].messages.last else { continue }
                out.append(try encodeFeedback(c, klAnswer: previous))
            }
        }
        return out
    }
}
