import Synchronization
import Dispatch
import FactoryEngine
import FactoryConfig
import FactoryJinja
import FactoryTokenizers

/// A prepared training set: encoded examples, how many rows were cut or skipped.
public struct PreparedDataset {
    public var train: [EncodedExample] = []
    public var eval: [EncodedExample] = []
    /// Rows whose tokens exceeded cutoff_len before cutting.
    public var truncated = 0
    /// Rows skipped with skip_bad_rows, and the first problems.
    public var skipped = 0
    public var problems: [String] = []
    /// The conversations behind `train`, in the same order (for `factory data check`).
    public var conversations: [Conversation] = []
    /// True when the examples came from the tokenized cache (`tokenized_path`).
    public var fromCache = false
    /// With `packing` (or `neat_packing`): `train` packed into rows of cutoff_len.
    public var packed: [PackedExample] = []
    /// Ranking datasets (`ranking: true`), read by `loadPairwise`: each row a chosen and a rejected answer.
    public var pairs: [PairwiseExample] = []
}

/// Reads the config's `dataset` (and `eval_dataset`) from `dataset_dir`, converts,
/// limits (`max_samples`), shuffles with `seed`, splits `val_size`, and encodes with the
/// template and tokenizer. Strict by default: the first bad row is an error;
/// `skip_bad_rows: true` skips bad rows and counts them.
public enum DatasetLoader {
    /// `tokenizerIdentity` names the tokenizer for the cache fingerprint (say, the model file and its size).
    public static func load(_ config: RunConfig, template: ChatRenderer, tokenizer: Tokenizer, tokenizerIdentity: String = "") throws -> PreparedDataset {
        var data = try loadUnpacked(config, template: template, tokenizer: tokenizer, tokenizerIdentity: tokenizerIdentity)
        let neat = config.bool("neat_packing") ?? false
        if neat || (config.bool("packing") ?? false) {
            let padID = tokenizer.eosID ?? 0
            data.packed = Packer.pack(data.train, cutoffLen: config.int("cutoff_len") ?? 2048, padID: padID, neat: neat)
        }
        return data
    }

    static func loadUnpacked(_ config: RunConfig, template: ChatRenderer, tokenizer: Tokenizer, tokenizerIdentity: String) throws -> PreparedDataset {
        guard let names = config.list("dataset"), !names.isEmpty else { throw DataError("no dataset: set dataset (names from dataset_info.json)") }
        let info = try DatasetInfo(directory: config.string("dataset_dir") ?? "data")
        var fingerprint = TokenizedCache.Fingerprint()
        if let cacheDirectory = config.string("tokenized_path") {
            for name in names + (config.list("eval_dataset") ?? []) {
                let a = try info.attributes(name)
                fingerprint.add(name + "|" + a.fileName + "|" + a.formatting.rawValue + "|" + a.columns.sorted { $0.key < $1.key }.description + a.tags.sorted { $0.key < $1.key }.description)
                fingerprint.add(readBytes(info.directory + "/" + a.fileName) ?? [])
            }
            fingerprint.add(tokenizerIdentity + "|vocab \(tokenizer.vocabularySize)")
            fingerprint.add(template.rendererIdentity)
            for key in ["dataset", "eval_dataset", "cutoff_len", "train_on_prompt", "mask_history", "max_samples", "seed", "val_size",
                        "disable_shuffling", "skip_bad_rows"] {
                fingerprint.add(key + "=" + (config.values[key]?.description ?? "-"))
            }
            if var cached = TokenizedCache.load(cacheDirectory, fingerprint: fingerprint.value) {
                cached.fromCache = true
                return cached
            }
            let fresh = try prepare(config, names: names, info: info, template: template, tokenizer: tokenizer)
            try TokenizedCache.save(fresh, to: cacheDirectory, fingerprint: fingerprint.value)
            return fresh
        }
        return try prepare(config, names: names, info: info, template: template, tokenizer: tokenizer)
    }

    static func prepare(_ config: RunConfig, names: [String], info: DatasetInfo, template: ChatRenderer, tokenizer: Tokenizer) throws -> PreparedDataset {
        let skipBad = config.bool("skip_bad_rows") ?? false
        var options = SupervisedOptions()
        if let c = config.int("cutoff_len") { options.cutoffLen = c }
        if let t = config.bool("train_on_prompt") { options.trainOnPrompt = t }
        if let m = config.bool("mask_history") { options.maskHistory = m }
        let encoder = SupervisedEncoder(template: template, tokenizer: tokenizer, options: options)
        var result = PreparedDataset()

        func conversations(of name: String) throws -> [Conversation] {
            let read = try readConversations(name, info: info, config: config, skipBad: skipBad)
            result.skipped += read.skipped
            result.problems += read.problems.prefix(max(0, 5 - result.problems.count))
            return read.conversations
        }

        var all = try mixed(try names.map { try conversations(of: $0) }, config)
        var evalSet = try (config.list("eval_dataset") ?? []).flatMap { try conversations(of: $0) }
        let heldOut: [Conversation]
        (all, heldOut) = holdOut(all, config)
        evalSet += heldOut
        for (c, outcome) in zip(all, try encodeInParallel(all, template: template, tokenizer: tokenizer, options: options)) {
            switch outcome {
            case .success(let (example, cut)):
                if cut { result.truncated += 1 }
                result.train.append(example)
                result.conversations.append(c)
            case .failure(let error):
                guard skipBad else { throw error }
                result.skipped += 1
                if result.problems.count < 5 { result.problems.append("\(error)") }
            }
        }
        result.eval = try evalSet.map { try encoder.encode($0) }
        return result
    }
}

extension DatasetLoader {
    /// One conversation dataset's rows converted; with skip_bad_rows the bad ones are counted (and the first
    /// five problems kept) instead of stopping the run.
    static func readConversations(_ name: String, info: DatasetInfo, config: RunConfig, skipBad: Bool) throws
        -> (conversations: [Conversation], skipped: Int, problems: [String]) {
        let a = try info.attributes(name)
        if a.ranking {
            throw DataError("\(info.path): dataset '\(name)' is a ranking dataset (chosen/rejected pairs): stage \(config.stage.rawValue) trains on "
                            + "conversations; train on its pairs with stage dpo or rm (`factory data check` shows them)")
        }
        if a.columns["kto_tag"] != nil {
            throw DataError("\(info.path): dataset '\(name)' has a kto_tag column (answers labelled desirable or not): stage \(config.stage.rawValue) "
                            + "would learn the undesirable answers too (LLaMA-Factory drops such rows); train on it with stage kto")
        }
        let rows = try DatasetReader.rows(of: name, a, info: info, maxSamples: config.int("max_samples"))
        var out: [Conversation] = [], skipped = 0, problems: [String] = []
        for row in rows {
            do { out.append(try DatasetConverter.convert(row, a)) } catch {
                guard skipBad else { throw error }
                skipped += 1
                if problems.count < 5 { problems.append("\(error)") }
            }
        }
        if out.isEmpty, let first = problems.first {
            throw DataError("\(info.directory)/\(a.fileName): dataset '\(name)' has no usable row of its \(rows.count) (skip_bad_rows skipped them all; first: \(first))")
        }
        return (out, skipped, problems)
    }

    /// The datasets mixed as mix_strategy (and interleave_probs) say, with the run's seed.
    static func mixed(_ datasets: [[Conversation]], _ config: RunConfig) throws -> [Conversation] {
        let probabilities = try config.list("interleave_probs").map { list in
            try list.map { item -> Double in
                guard let p = Double(item) else { throw DataError("interleave_probs: '\(item)' is not a number") }
                return p
            }
        }
        return try Mixer.mix(datasets, strategy: config.string("mix_strategy") ?? "concat", probabilities: probabilities, seed: UInt64(config.int("seed") ?? 42))
    }

    /// What a run that does not train evaluates or predicts on (do_eval or do_predict alone): eval_dataset's
    /// conversations, then — with val_size — the part of `dataset` held out, as LLaMA-Factory's split_dataset
    /// takes it. Errors name the keys when there is neither.
    /// `report` gets one line when skip_bad_rows skipped rows.
    public static func evaluationConversations(_ config: RunConfig, report: (String) -> Void = { _ in }) throws -> [Conversation] {
        let evalNames = config.list("eval_dataset") ?? [], names = config.list("dataset") ?? []
        let val = config.double("val_size") ?? 0
        guard !evalNames.isEmpty || (val > 0 && !names.isEmpty) else {
            throw DataError("nothing to evaluate: set eval_dataset (or dataset with val_size), as LLaMA-Factory requires for do_eval and do_predict")
        }
        let info = try DatasetInfo(directory: config.string("dataset_dir") ?? "data")
        let skipBad = config.bool("skip_bad_rows") ?? false
        var skipped = 0, problems: [String] = []
        func read(_ name: String) throws -> [Conversation] {
            let r = try readConversations(name, info: info, config: config, skipBad: skipBad)
            skipped += r.skipped
            problems += r.problems
            return r.conversations
        }
        var result = try evalNames.flatMap { try read($0) }
        if val > 0, !names.isEmpty { result += holdOut(try mixed(try names.map { try read($0) }, config), config).heldOut }
        if skipped > 0 { report("skip_bad_rows: skipped \(skipped) rows of the eval data (first: \(problems.first ?? ""))") }
        guard !result.isEmpty else { throw DataError("nothing to evaluate: eval_dataset \(evalNames.joined(separator: ",")) has no rows") }
        return result
    }

    /// Examples shuffled with `seed` (unless disable_shuffling; always with val_size), and the last val_size of
    /// them (a fraction below 1, else a count) held out for evaluation: what every stage does with its examples.
    public static func holdOut<T>(_ items: [T], _ config: RunConfig) -> (train: [T], heldOut: [T]) {
        var all = items
        if !(config.bool("disable_shuffling") ?? false) || config.double("val_size") != nil {
            var rng = SplitMix64(seed: UInt64(config.int("seed") ?? 42))
            rng.shuffle(&all)
        }
        guard let val = config.double("val_size"), val > 0 else { return (all, []) }
        let n = min(val < 1 ? Int((Double(all.count) * val).rounded()) : Int(val), all.count)
        return (Array(all.dropLast(n)), Array(all.suffix(n)))
    }

    /// The config's ranking datasets (or `names` of them) as pairs, LLaMA-Factory's pairwise processing:
    /// stage dpo's data and `factory data check`'s. Every dataset must be a ranking one.
    public static func loadPairwise(_ config: RunConfig, names: [String]? = nil, template: ChatRenderer, tokenizer: Tokenizer) throws -> PreparedDataset {
        guard let names = names ?? config.list("dataset"), !names.isEmpty else { throw DataError("no dataset: set dataset (names from dataset_info.json)") }
        let info = try DatasetInfo(directory: config.string("dataset_dir") ?? "data")
        var options = SupervisedOptions()
        if let c = config.int("cutoff_len") { options.cutoffLen = c }
        let encoder = SupervisedEncoder(template: template, tokenizer: tokenizer, options: options)
        var result = PreparedDataset()
        for name in names {
            let a = try info.attributes(name)
            guard a.ranking else { throw DataError("\(info.path): dataset '\(name)' is not a ranking dataset; ranking and conversation datasets do not mix") }
            for row in try DatasetReader.rows(of: name, a, info: info, maxSamples: config.int("max_samples")) {
                let c = try DatasetConverter.convert(row, a)
                result.pairs.append(try encoder.encodePairwise(c))
                result.conversations.append(c)
            }
        }
        return result
    }

    /// The config's datasets (or `names` of them) as stage kto's feedback examples: rows with a kto_tag, each
    /// with the previous row's answer as its KL example (LLaMA-Factory's feedback processing).
    public static func loadFeedback(_ config: RunConfig, names: [String]? = nil, template: ChatRenderer, tokenizer: Tokenizer) throws -> [FeedbackExample] {
        guard let names = names ?? config.list("dataset"), !names.isEmpty else { throw DataError("no dataset: set dataset (names from dataset_info.json)") }
        let info = try DatasetInfo(directory: config.string("dataset_dir") ?? "data")
        var options = SupervisedOptions()
        if let c = config.int("cutoff_len") { options.cutoffLen = c }
        var conversations: [Conversation] = []
        for name in names {
            let a = try info.attributes(name)
            guard !a.ranking, a.columns["kto_tag"] != nil else {
                throw DataError("\(info.path): dataset '\(name)' has no kto_tag column: stage kto trains on single answers labelled desirable or not "
                                + "(\"columns\": {\"kto_tag\": ...} in dataset_info.json)")
            }
            for row in try DatasetReader.rows(of: name, a, info: info, maxSamples: config.int("max_samples")) {
                conversations.append(try DatasetConverter.convert(row, a))
            }
        }
        return try SupervisedEncoder(template: template, tokenizer: tokenizer, options: options).encodeFeedback(conversations)
    }

    /// Whether the config's datasets are ranking ones (the first decides; mixing is refused when loading).
    public static func isRanking(_ config: RunConfig) throws -> Bool {
        guard let first = config.list("dataset")?.first else { return false }
        return try DatasetInfo(directory: config.string("dataset_dir") ?? "data").attributes(first).ranking
    }

    /// Encodes conversations on every core, in order. Each worker has its own template
    /// instance (the ABI allows one thread per instance); the tokenizer is shared.
    static func encodeInParallel(_ all: [Conversation], template: ChatRenderer, tokenizer: Tokenizer,
                                 options: SupervisedOptions) throws -> [Result<(EncodedExample, Bool), Error>] {
        let workers = max(1, min(Threads.count, all.count / 64))
        let encoders = try (0..<workers).map { w in
            SupervisedEncoder(template: w == 0 ? template : try template.sibling(), tokenizer: tokenizer, options: options)
        }
        let outcomes = UnsafeMutableBufferPointer<Result<(EncodedExample, Bool), Error>?>.allocate(capacity: all.count)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deallocate() }
        // Rows differ in length: workers take small chunks in turn, so none idles at the end.
        let chunk = 16, chunks = (all.count + chunk - 1) / chunk
        let next = ChunkCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            while case let c = next.take(), c < chunks {
                for i in (c * chunk)..<min(all.count, (c + 1) * chunk) {
                    outcomes[i] = Result { try encoders[w].encodeReportingCut(all[i]) }
                }
            }
        }
        return outcomes.map { $0! }
    }
}

/// The next chunk index, handed out once each across threads.
final class ChunkCounter: Sendable {
    private let next = Mutex(0)
    func take() -> Int { next.withLock { n in defer { n += 1 }; return n } }
}

