import FactoryEngine
import FactoryData

/// One micro-batch, right-padded to its longest row: ids [batch × seq] row-major and the labels.
public struct MicroBatch {
    public let ids: [Int]
    public let labels: [[Int]]
    public let batch: Int
    public let seq: Int
    /// Real (non-pad) tokens.
    public let tokens: Int
    /// Positions whose next token carries a label: the targets the loss sums over.
    public let targets: Int
    /// Neat-packed rows: sample numbers per position (0 = padding) and per-row positions, each
    /// [batch × seq]; nil for ordinary rows.
    public let segments: [[Int]]?
    public let positions: [Int]?

    /// Right padding with `padID` (labels -100): with causal attention the real positions never
    /// see the padding, so no mask is needed and the numbers equal an attention-masked batch's.
    public init(_ examples: [EncodedExample], padID: Int) {
        let seq = examples.map(\.inputIDs.count).max() ?? 0
        var ids = [Int](repeating: padID, count: examples.count * seq)
        var labels: [[Int]] = []
        for (b, e) in examples.enumerated() {
            for (i, id) in e.inputIDs.enumerated() { ids[b * seq + i] = id }
            labels.append(e.labels + [Int](repeating: -100, count: seq - e.labels.count))
        }
        self.ids = ids
        self.labels = labels
        batch = examples.count
        self.seq = seq
        tokens = examples.reduce(0) { $0 + $1.inputIDs.count }
        targets = examples.reduce(0) { n, e in n + e.labels.dropFirst().filter { $0 != -100 }.count }
        if examples.contains(where: { $0.segments != nil }) {
            segments = examples.map { e in (e.segments ?? [Int](repeating: 1, count: e.inputIDs.count)) + [Int](repeating: 0, count: seq - e.inputIDs.count) }
            positions = examples.flatMap { e in (e.positionIDs ?? Array(0..<e.inputIDs.count)) + [Int](repeating: 0, count: seq - e.inputIDs.count) }
        } else {
            (segments, positions) = (nil, nil)
        }
    }

    /// The attention mask the family passes to attention(): the samples of neat-packed rows; nil
    /// for ordinary rows (right padding under causal attention needs none).
    public func attentionMask() -> Tensor? {
        segments.map { SegmentMask(attentionMask: $0, packed: true).tensor() }
    }
}

/// The order of examples: epoch e is a seeded shuffle (seed + e) unless shuffling is off, cut
/// into micro-batches, grouped `accumulation` at a time into optimizer steps. A step's position
/// depends only on (seed, step), so a resumed run sees the same batches.
public struct BatchPlan {
    public let count: Int
    public let batchSize: Int
    public let accumulation: Int
    public let seed: UInt64
    public let shuffle: Bool

    public var batchesPerEpoch: Int { (count + batchSize - 1) / batchSize }
    /// transformers' count: ceil(batches / accumulation), at least 1.
    public var stepsPerEpoch: Int { max(1, (batchesPerEpoch + accumulation - 1) / accumulation) }

    /// The example indices of each micro-batch of optimizer step `step` (0-based).
    public func microBatches(ofStep step: Int) -> [[Int]] {
        let order = self.order(ofEpoch: step / stepsPerEpoch), first = (step % stepsPerEpoch) * accumulation
        return (first..<min(first + accumulation, batchesPerEpoch)).map { microBatch($0, of: order) }
    }

    /// Every micro-batch of epoch `epoch`, in order (one shuffle for all of them).
    public func microBatches(ofEpoch epoch: Int) -> [[Int]] {
        let order = self.order(ofEpoch: epoch)
        return (0..<batchesPerEpoch).map { microBatch($0, of: order) }
    }

    /// The example indices of epoch `epoch`, in the order it visits them.
    func order(ofEpoch epoch: Int) -> [Int] {
        var order = Array(0..<count)
        if shuffle {
            var rng = SplitMix64(seed: seed &+ UInt64(epoch))
            rng.shuffle(&order)
        }
        return order
    }

    func microBatch(_ b: Int, of order: [Int]) -> [Int] { Array(order[(b * batchSize)..<min(count, (b + 1) * batchSize)]) }

    /// The epoch (fractional, as transformers logs it) after `steps` steps.
    public func epoch(afterSteps steps: Int) -> Double { Double(steps) / Double(stepsPerEpoch) }
}
