import FactoryEngine
import FactoryHost

/// Continuous batching: sequences decode together, one forward pass per step over every active
/// sequence (each in its own row of a BatchedKVCache, at its own positions), each choosing its next
/// token with its own DecodingState. A sequence joins between steps (its prompt prefilled alone) and
/// leaves as soon as it ends, so its row serves the next one. Greedy outputs equal those of decoding
/// each sequence alone: every row attends over its own keys only, and a product of at most
/// PackedWeight.directRows rows computes each row as it would alone. Used on the thread that runs the
/// model.
public final class BatchDecoder {
    public let model: LoadedModel
    /// Rows decoded together at most.
    public let maxSequences: Int
    private let cache: BatchedKVCache
    /// The active sequences, in cache row order.
    private var active: [Sequence] = []

    /// What a sequence reports: each token and its text (return false to stop it), then its end.
    public struct Callbacks {
        public let onToken: (Int, String) -> Bool
        public let onEnd: (Result<[Int], Error>) -> Void
        public init(onToken: @escaping (Int, String) -> Bool, onEnd: @escaping (Result<[Int], Error>) -> Void) {
            (self.onToken, self.onEnd) = (onToken, onEnd)
        }
    }

    private final class Sequence {
        var state: DecodingState
        let callbacks: Callbacks
        /// The token to feed next (chosen, not yet in the cache).
        var pending: Int
        /// The adapter it runs with (RowAdapters: 0 = the base alone).
        let adapter: Int
        init(state: DecodingState, callbacks: Callbacks, pending: Int, adapter: Int) {
            (self.state, self.callbacks, self.pending, self.adapter) = (state, callbacks, pending, adapter)
        }
    }

    /// nil when the model family cannot decode rows at different positions together (a family built
    /// before ABI 1.8): decode one sequence at a time then.
    public init?(model: LoadedModel, maxSequences: Int) {
        guard model.family.forwardsRows, maxSequences >= 1 else { return nil }
        let kv = model.description["kv_cache"]
        guard let heads = kv?["kv_heads"]?.intValue, let dim = kv?["head_dim"]?.intValue else { return nil }
        self.model = model
        self.maxSequences = maxSequences
        cache = BatchedKVCache(layers: model.layers, kvHeads: Int(heads), headDim: Int(dim), maxRows: maxSequences)
    }

    /// Sequences decoding now.
    public var count: Int { active.count }
    /// Whether another sequence can join.
    public var hasRoom: Bool { active.count < maxSequences }

    /// Prefills `prompt` alone, chooses its first token and lets it join the batch (or ends it at once:
    /// a stop token first, max_new_tokens 1). Errors in its prompt reach `callbacks.onEnd` too. `adapter`:
    /// which of several adapters over the base it runs with (RowAdapters; 0 = the model as loaded).
    public func add(prompt: [Int], options: SamplingOptions, stopIDs: Set<Int>, stopStrings: [String], adapter: Int = 0, callbacks: Callbacks) {
        RowAdapters.indices = adapter == 0 ? nil : [adapter]
        defer { RowAdapters.indices = nil }
        do {
            guard hasRoom else { throw ConfigProblem("the batch is full (\(maxSequences) sequences)") }
            var state = try DecodingState(prompt: prompt, options: options, stopIDs: stopIDs, stopStrings: stopStrings, model: model)
            guard !state.finished else { return callbacks.onEnd(.success([])) }
            let prefill = KVCache(layers: model.layers, capacity: prompt.count)
            let logits = try Generator(model: model).lastLogits(prompt, start: 0, cache: prefill)
            guard let (first, piece) = state.step(logits) else { return callbacks.onEnd(.success(state.generated)) }
            guard callbacks.onToken(first, piece), !state.finished else { return callbacks.onEnd(.success(state.generated)) }
            _ = try cache.add(prefill)
            active.append(Sequence(state: state, callbacks: callbacks, pending: first, adapter: adapter))
        } catch {
            callbacks.onEnd(.failure(error))
        }
    }

    /// One decoding step of every active sequence; the ones that end leave. A failed forward pass ends
    /// them all with its error.
    public func step() {
        guard !active.isEmpty else { return }
        let logits: Tensor
        do {
            let adapters = active.map(\.adapter)
            RowAdapters.indices = adapters.contains { $0 != 0 } ? adapters : nil
            defer { RowAdapters.indices = nil }
            logits = try PackedWeight.generating { try model.decodeRows(ids: active.map(\.pending), seq: 1, cache: cache) }.contiguous()
        } catch {
            let failed = active
            active = []
            while cache.rows > 0 { cache.remove(row: cache.rows - 1) }
            for s in failed { s.callbacks.onEnd(.failure(error)) }
            return
        }
        let V = logits.shape[logits.rank - 1]
        var ended: [Int] = []
        for (r, s) in active.enumerated() {
            let row = Array(UnsafeBufferPointer(start: logits.data + r * V, count: V))
            if let (next, piece) = s.state.step(row), s.callbacks.onToken(next, piece), !s.state.finished {
                s.pending = next
            } else {
                ended.append(r)
            }
        }
        for r in ended.reversed() {  // from the back: the last row moves into each freed one
            let s = active[r]
            cache.remove(row: r)
            active[r] = active[active.count - 1]
            active.removeLast()
            s.callbacks.onEnd(.success(s.state.generated))
        }
    }
}
