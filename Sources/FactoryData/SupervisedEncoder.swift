import FactoryJinja
import FactoryJSON
import FactoryTokenizers

/// One training example: token ids and labels (-100 where nothing is learned).
public struct EncodedExample: Equatable, Sendable {
    public var inputIDs: [Int]
    public var labels: [Int]
    /// Neat-packed rows only: the sample number of each position (0 = padding) and the positions,
    /// restarting at each sample. nil for an ordinary example (one sequence, positions 0..<n).
    public var segments: [Int]?
    public var positionIDs: [Int]?
    public init(inputIDs: [Int], labels: [Int], segments: [Int]? = nil, positionIDs: [Int]? = nil) {
        self.inputIDs = inputIDs
        self.labels = labels
        self.segments = segments
        self.positionIDs = positionIDs
    }
}

/// The keys of supervised preprocessing (LLaMA-Factory's data arguments).
public struct SupervisedOptions: Sendable {
    public var cutoffLen = 2048
    public var trainOnPrompt = false
    public var maskHistory = false
    public init() {}
}

/// Supervised preprocessing, as LLaMA-Factory's SupervisedDatasetProcessor: the
/// template renders the conversation into segments; each run of non-trainable
/// segments is a turn's source and the trainable one after it its target; each
/// segment is tokenized on its own (as LLaMA-Factory encodes each template
/// element); turns are cut to `cutoff_len` with its infer_seqlen rule.
public final class SupervisedEncoder {
    let template: ChatRenderer
    let tokenizer: Tokenizer
    let options: SupervisedOptions
    let bos: String, eos: String
    public static let ignore = -100

    public init(template: ChatRenderer, tokenizer: Tokenizer, options: SupervisedOptions) {
        self.template = template
        self.tokenizer = tokenizer
        self.options = options
        bos = tokenizer.bosID.map { tokenizer.decode([$0]) } ?? ""
        eos = tokenizer.eosID.map { tokenizer.decode([$0]) } ?? ""
    }

    /// The (source, target) id pairs of a conversation, one per assistant turn.
    public func pairs(_ c: Conversation) throws -> [(source: [Int], target: [Int])] {
        var messages: [JSON] = []
        if let system = c.system, !system.isEmpty { messages.append(["role": "system", "content": .string(system)]) }
        for m in c.messages { messages.append(.object(JSONObject([("role", .string(m.role)), ("content", .string(m.content))]))) }
        var options = JSONObject([("add_generation_prompt", false), ("bos_token", .string(bos)), ("eos_token", .string(eos))])
        if let tools = c.tools { options["tools"] = .string(tools) }
        let segments: [RenderedSegment]
        do {
            segments = try template.render(messagesJSON: JSON.array(messages).serialized(), optionsJSON: JSON.object(options).serialized())
        } catch {
            throw DataError("\(c.origin): the \(template.rendererName) template refused the row: \(error)")
        }
        var result: [(source: [Int], target: [Int])] = []
        var source: [Int] = [], target: [Int] = []
        for s in segments {
            let ids = try tokenizer.encode(s.text)
            if s.trainable {
                target += ids
            } else {
                if !target.isEmpty { result.append((source, target)); source = []; target = [] }
                source += ids
            }
        }
        if !target.isEmpty { result.append((source, target)) }
        return result
    }

    /// ids and labels of a conversation, cut to cutoff_len.
    public func encode(_ c: Conversation) throws -> EncodedExample {
        try encodeReportingCut(c).0
    }

    /// ids and labels, and whether cutoff_len cut anything.
    public func encodeReportingCut(_ c: Conversation) throws -> (EncodedExample, Bool) {
        var turns = try pairs(c)
        let fullLength = turns.reduce(0) { $0 + $1.source.count + $1.target.count }
        guard !turns.isEmpty else { throw DataError("\(c.origin): the conversation has no assistant turn to learn") }
        if options.maskHistory { turns.reverse() }
        var ids: [Int] = [], labels: [Int] = []
        var total = 0
        for (index, turn) in turns.enumerated() {
            if total >= options.cutoffLen { break }
            let (sourceLen, targetLen) = SupervisedEncoder.inferSeqlen(source: turn.source.count, target: turn.target.count, cutoff: options.cutoffLen - total)
            let source = Array(turn.source.prefix(sourceLen)), target = Array(turn.target.prefix(targetLen))
            total += sourceLen + targetLen
            let sourceLabels = options.trainOnPrompt ? source : Array(repeating: SupervisedEncoder.ignore, count: sourceLen)
            let targetLabels = options.maskHistory && index != 0 ? Array(repeating: SupervisedEncoder.ignore, count: targetLen) : target
            if options.maskHistory {
                ids = source + target + ids
                labels = sourceLabels + targetLabels + labels
            } else {
                ids += source + target
                labels += sourceLabels + targetLabels
            }
        }
        return (EncodedExample(inputIDs: ids, labels: labels), fullLength > options.cutoffLen)
    }

    /// A conversation as LLaMA-Factory encodes it for generation (predict_with_generate: its unsupervised
    /// processing, encode_oneturn): every turn before the last answer is the prompt, the last answer with the
    /// template's end the label, the two cut to cutoff_len by infer_seqlen.
    public func promptAndLabel(_ c: Conversation) throws -> (prompt: [Int], label: [Int]) {
        let turns = try pairs(c)
        guard let last = turns.last else { throw DataError("\(c.origin): the conversation has no assistant turn to predict") }
        let prompt = turns.dropLast().flatMap { $0.source + $0.target } + last.source
        let (sourceLen, targetLen) = SupervisedEncoder.inferSeqlen(source: prompt.count, target: last.target.count, cutoff: options.cutoffLen)
        return (Array(prompt.prefix(sourceLen)), Array(last.target.prefix(targetLen)))
    }

    /// LLaMA-Factory's infer_seqlen: how a turn's budget splits between source and target.
    public static func inferSeqlen(source: Int, target: Int, cutoff: Int) -> (Int, Int) {
        let maxTarget: Int
        if target * 2 < cutoff {
            maxTarget = cutoff
        } else if source * 2 < cutoff {
            maxTarget = cutoff - source
        } else {
            maxTarget = Int(Double(cutoff) * (Double(target) / Double(source + target)))
        }
        let newTarget = min(maxTarget, target)
        let newSource = min(max(cutoff - newTarget, 0), source)
        return (newSource, newTarget)
    }
}
