import FactoryEngine
import FactoryJSON
import FactoryPipeline

/// `factory eval`: LLaMA-Factory's multiple-choice evaluation. Each question becomes a few-shot conversation —
/// the subject's first `nShot` dev questions answered, then the question — rendered through the chat template
/// with the generation prompt; the answer is the choice letter (A–D) whose token has the highest logit at
/// the prompt's last position. Prompts run `batchSize` at a time, right-padded, one forward pass per batch
/// (no generation). LLaMA-Factory draws the few-shot examples at random for every question; Factory takes
/// the first `nShot` dev rows, as the original MMLU evaluation does, so a run is the same every time.
public final class MultipleChoiceEvaluator {
    /// LLaMA-Factory's eval templates ("en", "zh"): the system line, a choice, the answer cue.
    public struct Wording: Sendable {
        let system: String, choice: String, answer: String
        public static let en = Wording(system: "The following are multiple choice questions (with answers) about {subject}.\n\n",
                                       choice: "\n{choice}. {content}", answer: "\nAnswer:")
        public static let zh = Wording(system: "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n",
                                       choice: "\n{choice}. {content}", answer: "\n答案：")
    }

    /// One question's outcome: the prompt's ids, the four choice logits, the chosen letter.
    public struct Answer: Sendable {
        public let prompt: [Int]
        public let logits: [Float]
        public let choice: String
        public let correct: Bool
    }

    let model: LoadedModel
    let renderer: ChatRenderer
    let wording: Wording
    let nShot: Int
    let batchSize: Int
    /// The token of each choice letter (the last token of its encoding, as LLaMA-Factory takes it).
    public let choiceIDs: [Int]

    public init(model: LoadedModel, renderer: ChatRenderer, wording: Wording, nShot: Int, batchSize: Int) throws {
        (self.model, self.renderer, self.wording, self.nShot, self.batchSize) = (model, renderer, wording, nShot, max(1, batchSize))
        choiceIDs = try MultipleChoiceTask.letters.map { letter in
            guard let id = try model.tokenizer.encode(letter, addSpecialTokens: false).last else {
                throw TrainingError("eval: the tokenizer gives no token for the choice '\(letter)'")
            }
            return id
        }
    }

    /// "question\nA. …\nB. …\nC. …\nD. …\nAnswer:" and its answer letter.
    func turn(_ q: MultipleChoiceTask.Question) -> String {
        q.question + zip(MultipleChoiceTask.letters, q.choices).map { letter, content in
            wording.choice.replacingAll("{choice}", with: letter).replacingAll("{content}", with: content)
        }.joined() + wording.answer
    }

    /// The prompt's token ids for `question` of `subject`.
    public func prompt(_ question: MultipleChoiceTask.Question, in subject: MultipleChoiceTask.Subject) throws -> [Int] {
        var messages: [(role: String, content: String)] = []
        for example in subject.examples.prefix(nShot) {
            messages.append((role: "user", content: turn(example)))
            messages.append((role: "assistant", content: example.answer))
        }
        messages.append((role: "user", content: turn(question)))
        messages[0].content = wording.system.replacingAll("{subject}", with: subject.name) + messages[0].content
        return try model.tokenizer.encode(try renderer.prompt(messages))
    }

    /// Every question of `subject`, answered in batches; `progress(done)` after each batch.
    public func answer(_ subject: MultipleChoiceTask.Subject, progress: (Int) -> Void = { _ in }) throws -> [Answer] {
        let prompts = try subject.questions.map { try prompt($0, in: subject) }
        var answers: [Answer] = []
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let batch = Array(prompts[start..<min(start + batchSize, prompts.count)])
            let logits = try choiceLogits(batch)
            for (i, l) in logits.enumerated() {
                var best = 0
                for c in 1..<l.count where l[c] > l[best] { best = c }  // the first of equal logits, as torch.argmax
                let question = subject.questions[start + i]
                let letter = MultipleChoiceTask.letters[best]
                answers.append(Answer(prompt: batch[i], logits: l, choice: letter, correct: letter == question.answer))
            }
            progress(answers.count)
        }
        return answers
    }

    /// The choice letters' logits at each prompt's last position: one forward pass, prompts right-padded
    /// (causal attention: a prompt never sees the padding after it).
    func choiceLogits(_ prompts: [[Int]]) throws -> [[Float]] {
        let T = prompts.map(\.count).max() ?? 0
        guard T > 0 else { return [] }
        if model.contextLength > 0, T > model.contextLength {
            throw TrainingError("eval: a prompt of \(T) tokens is longer than the model's context (\(model.contextLength)); lower n_shot")
        }
        let pad = model.tokenizer.eosID ?? 0  // any id: causal attention keeps it out of the prompt
        let ids = prompts.flatMap { $0 + Array(repeating: pad, count: T - $0.count) }
        let out = try GradMode.disabled { try model.forward(ids: ids, batch: prompts.count, seq: T, positions: Array(0..<T)) }.contiguous()
        let V = out.shape[out.rank - 1]
        return prompts.enumerated().map { b, p in
            let row = (b * T + p.count - 1) * V
            return choiceIDs.map { out.data[row + $0] }
        }
    }
}
