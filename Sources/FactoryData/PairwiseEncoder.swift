/// A preference example (stages rm, dpo): one prompt with a chosen and a rejected answer.
public struct PairwiseExample: Equatable, Sendable {
    public var chosen: EncodedExample
    public var rejected: EncodedExample

    public init(chosen: EncodedExample, rejected: EncodedExample) { (self.chosen, self.rejected) = (chosen, rejected) }
}

extension SupervisedEncoder {
    /// LLaMA-Factory's pairwise processing: the prompt is every turn but the last answer; the chosen
    /// and the rejected answers share it; cutoff_len is split by infer_seqlen between the prompt and
    /// the longer answer. Labels are -100 on the prompt.
    public func encodePairwise(_ c: Conversation) throws -> PairwiseExample {
        guard let chosen = c.chosen, let rejected = c.rejected else {
            throw DataError("\(c.origin): a pairwise row needs both a chosen and a rejected answer")
        }
        func turns(_ answer: Message) throws -> (prompt: [Int], answer: [Int]) {
            var conversation = c
            conversation.messages.append(answer)
            let pairs = try self.pairs(conversation)
            guard let last = pairs.last else { throw DataError("\(c.origin): the template produced no answer to learn") }
            let prompt = pairs.dropLast().flatMap { $0.source + $0.target } + last.source
            return (prompt, last.target)
        }
        let good = try turns(chosen), bad = try turns(rejected)
        let (promptLen, answerLen) = SupervisedEncoder.inferSeqlen(source: good.prompt.count, target: max(good.answer.count, bad.answer.count),
                                                                   cutoff: options.cutoffLen)
        let prompt = Array(good.prompt.prefix(promptLen))
        func example(_ answer: [Int]) -> EncodedExample {
            let a = Array(answer.prefix(answerLen))
            return EncodedExample(inputIDs: prompt + a, labels: Array(repeating: SupervisedEncoder.ignore, count: prompt.count) + a)
        }
        return PairwiseExample(chosen: example(good.answer), rejected: example(bad.answer))
    }
}
