// The training loop shared by the stages: micro-batches (dynamic right padding), gradient
// accumulation, AdamW with a transformers schedule, clip_grad_norm_, logging, evaluation,
// checkpoints and resume. A stage decides what the examples are and what is optimised: the fused
// LM-head cross-entropy over the labelled positions, normalised over the whole optimizer step
// (pt, sft), or a preference loss over pairs (dpo: PreferenceStep.swift).
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryFormats
import FactoryJSON
import Foundation

/// One optimizer step, as logged.
public struct StepRecord {
    public let step: Int
    public let loss: Double
    public let gradNorm: Double
    public let learningRate: Double
    public let tokens: Int
    public let seconds: Double
    /// The stage's own metrics (dpo: rewards/chosen, …), the mean over the step's micro-batches.
    public var metrics: [String: Double] = [:]
}

/// How a run ended.
public struct TrainResult {
    public let steps: Int
    public let meanLoss: Double
    public let seconds: Double
    public let tokens: Int
    public let history: [StepRecord]
}

/// What a run optimises.
public enum TrainingObjective {
    /// The causal-LM loss over `train` (stages pt, sft).
    case languageModel
    /// A preference loss over pairs (stage dpo).
    case preference(PreferenceData)
    /// The pairwise loss of a value head's scores (stage rm).
    case reward(RewardData)
    /// The KTO loss over single answers labelled desirable or not (stage kto).
    case kto(KTOData)
}

public final class Trainer {
    public let adapted: AdaptedModel
    public let args: TrainingArguments
    public let train: [EncodedExample]
    public let eval: [EncodedExample]
    public let objective: TrainingObjective
    public let padID: Int
    public let baseModel: String
    /// Called after every optimizer step (tests, benchmarks).
    public var onStep: ((StepRecord) -> Void)?
    /// Where progress lines go (stdout by default; tests silence it).
    public var print: (String) -> Void = { Swift.print($0) }
    /// Called after the backward passes of a step, before clipping and the update (tests read gradients here).
    public var onGradients: ((Int) -> Void)?
    /// A live progress bar on stderr after every step (tqdm-like), when stderr is a terminal.
    public var liveProgress = isatty(2) != 0
    /// Stop after this many steps of this invocation (tests of resume; nil = run to the end).
    public var stopAfter: Int? = nil
    /// Datasets, stage and method for the README.md model card of the final save.
    public var modelCard = ModelCardInfo()
    /// The ranks of a data-parallel run (DataParallel.swift); one process by default.
    public let parallel: DataParallel

    let optimizer: AdamW
    /// ZeRO-1's owners of the optimizer's parameters (zero_stage: 1 with several ranks), or nil.
    let shards: OptimizerShards?
    let plan: BatchPlan
    public let totalSteps: Int
    /// Stages dpo and kto: reference values kept across epochs, and those of the evaluation batches.
    let referenceCache: ReferenceCache
    let evalReferenceCache = EvalReferenceCache()

    /// `objective` .preference trains on its pairs (train and eval then stay empty).
    public init(adapted: AdaptedModel, args: TrainingArguments, train: [EncodedExample], eval: [EncodedExample] = [], padID: Int,
                baseModel: String, objective: TrainingObjective = .languageModel, parallel: DataParallel = DataParallel()) throws {
        guard parallel.worldSize == 1 || { if case .languageModel = objective { return true } else { return false } }() else {
            throw TrainingError("data-parallel training (\(parallel.worldSize) ranks) trains stages pt and sft for now; run this stage in one process")
        }
        self.parallel = parallel
        self.adapted = adapted
        self.args = args
        self.train = train
        self.eval = eval
        self.objective = objective
        let count: Int
        switch objective {
        case .languageModel: count = train.count
        case .preference(let data): count = data.train.count
        case .reward(let data): count = data.train.count
        case .kto(let data): count = data.train.count
        }
        guard count > 0 else { throw TrainingError("no training examples") }
        self.padID = padID
        self.baseModel = baseModel
        optimizer = AdamW(lr: args.learningRate, betas: (args.beta1, args.beta2), eps: args.epsilon)
        for t in adapted.trainable {
            // transformers: no weight decay on biases and norm weights
            let decays = !(t.name.hasSuffix(".bias") || t.name.contains("norm"))
            optimizer.add(t.tensor, lrScale: t.lrScale, weightDecay: decays ? args.weightDecay : 0)
        }
        if case .reward(let data) = objective {  // the value head after the method's tensors: checkpoints keep its moments apart
            let head = data.valueHead
            optimizer.add(head.weight, lrScale: 1, weightDecay: args.weightDecay)
            optimizer.add(head.bias, lrScale: 1, weightDecay: 0)
        }
        shards = args.zeroStage == 1 && parallel.worldSize > 1 ? OptimizerShards(optimizer.parameters, parallel: parallel) : nil
        // a data-parallel step is the one a single process takes with per_device_train_batch_size × ranks
        plan = BatchPlan(count: count, batchSize: args.batchSize * parallel.worldSize, accumulation: args.gradientAccumulation,
                         seed: UInt64(truncatingIfNeeded: args.seed), shuffle: !args.disableShuffling)
        totalSteps = args.maxSteps > 0 ? args.maxSteps : max(1, Int((args.epochs * Double(plan.stepsPerEpoch)).rounded(.up)))
        referenceCache = ReferenceCache(plan: plan, totalSteps: totalSteps)
    }

    var logEvery: Int { TrainingArguments.everySteps(args.loggingSteps, total: totalSteps) }
    var saveEvery: Int { TrainingArguments.everySteps(args.saveSteps, total: totalSteps) }
    var evalEvery: Int? { args.evalSteps.map { TrainingArguments.everySteps($0, total: totalSteps) } }

    var warmup: Int { LRSchedule.warmupSteps(total: totalSteps, warmupSteps: args.warmupSteps, warmupRatio: args.warmupRatio) }

    /// The learning rate of optimizer step `step` (0-based): LambdaLR's value before that step.
    public func learningRate(atStep step: Int) -> Double {
        args.learningRate * args.schedule.multiplier(step: step, total: totalSteps, warmup: warmup, baseLR: args.learningRate)
    }

    /// The loss of one micro-batch (sum over its targets / normalizer), recorded for backward. While a
    /// training step runs (TrainingRandomness.seed set), NEFTune's noise draws from that seed.
    func microBatchLoss(_ batch: MicroBatch, normalizer: Float) throws -> Tensor {
        let targets = LossTargets(labels: batch.labels, seq: batch.seq, normalizer: normalizer, softcap: adapted.model.finalLogitSoftcap)
        RotaryPositions.perRow = batch.positions
        if let seed = TrainingRandomness.seed, args.neftuneNoiseAlpha > 0 {
            EmbeddingNoise.current = EmbeddingNoise(alpha: Float(args.neftuneNoiseAlpha), seq: batch.seq, seed: seed)
        }
        defer { (RotaryPositions.perRow, EmbeddingNoise.current) = (nil, nil) }
        return try adapted.withHooks(head: targets) {
            try adapted.model.forward(ids: batch.ids, batch: batch.batch, seq: batch.seq, positions: Array(0..<batch.seq), mask: batch.attentionMask(),
                                     headFused: true)
        }
    }

    /// Runs (or resumes) training to the end and saves the result into output_dir.
    @discardableResult
    public func run() throws -> TrainResult {
        let main = parallel.isMain  // the other ranks of a data-parallel run train, and write or print nothing
        if main { try FileSystem.createDirectory(args.outputDir) }
        var firstStep = 0
        var history: [StepRecord] = []
        if let checkpoint = try Checkpoints.toResume(args) {
            let state = try Checkpoints.load(checkpoint, into: self)
            if let refusal = Checkpoints.nothingLeft(checkpoint, step: state.step, total: totalSteps, maxSteps: args.maxSteps,
                                                     outputDir: args.outputDir) { throw refusal }
            firstStep = state.step
            history = state.history
            if main {
                print(firstStep == totalSteps ? "\(checkpoint) is at the last step; its run stopped before the final save: saving the final results from it"
                                              : "resuming from \(checkpoint) at step \(firstStep)")
            }
        }
        // the previous trainer_log.jsonl stays as it is until this run logs a step (then only its
        // records up to the resumed step are kept, so no step is logged twice)
        var runningLog: [String] = []  // what this invocation printed: running_log.txt
        let print = main ? self.print : { _ in }
        let log = TrainerLog(directory: args.outputDir, total: totalSteps, plan: plan, print: { runningLog.append($0); print($0) },
                             keepingRecordsUpTo: firstStep)
        var lastEval: (loss: Double, seconds: Double, metrics: [String: Double])?
        let start = Date()
        var sinceLog: [StepRecord] = []
        var tokensSeen = 0
        let resumedTokens = history.reduce(0) { $0 + $1.tokens }  // seen before a resume
        var step = firstStep
        while step < totalSteps {
            if let stop = stopAfter, step - firstStep >= stop { break }
            let record = try optimizerStep(step)
            history.append(record)
            sinceLog.append(record)
            tokensSeen += record.tokens
            step += 1
            onStep?(record)
            // SIGINT (Ctrl-C, the web UI's stop): log and checkpoint this step, then stop; every rank agrees when
            let stopping = try step < totalSteps && parallel.anyRank(HostServices.isCancelled)
            if main && liveProgress { log.live(record, step: step, elapsed: Date().timeIntervalSince(start), stepsDone: step - firstStep, tokens: tokensSeen) }
            if main && (step % logEvery == 0 || step == totalSteps || (args.logFirstStep && step == 1) || (stopping && !sinceLog.isEmpty)) {
                if liveProgress { fputs("\r\u{1B}[K", stderr) }
                // the learning rate as the Hugging Face Trainer logs it: the scheduler's value after this step
                try log.write(sinceLog, step: step, learningRate: learningRate(atStep: step), elapsed: Date().timeIntervalSince(start),
                              stepsDone: step - firstStep, tokens: tokensSeen, totalTokens: resumedTokens + tokensSeen)
                sinceLog = []
            }
            if hasEvalSet, evalEvery.map({ step % $0 == 0 }) == true || (step == totalSteps && (evalEvery != nil || args.evaluateAtEnd)) {
                let evalStart = Date()
                let (loss, metrics) = try evaluateWithMetrics()
                lastEval = (loss, Date().timeIntervalSince(evalStart), metrics)
                if main { try log.writeEval(loss, metrics: metrics, step: step) }
            }
            // every save_steps, and the last step whatever save_steps is, as transformers saves it
            if (args.saveCheckpoints && (step % saveEvery == 0 || step == totalSteps)) || stopping {
                let step = step, history = history
                let moments = args.saveOnlyModel ? nil : try shards?.gatherMoments(optimizer.parameters)  // a collective: every rank
                _ = try parallel.onMain("saving checkpoint-\(step)") { try Checkpoints.save(self, step: step, history: history, moments: moments) }
            }
            if stopping {
                let saved = args.outputDir + "/" + Checkpoints.prefix + String(step)
                throw TrainingError("stopped by SIGINT after step \(step) of \(totalSteps) and saved \(saved); set resume_from_checkpoint: \(saved) to continue")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let mean = history.isEmpty ? 0 : history.map(\.loss).reduce(0, +) / Double(history.count)
        if step == totalSteps {
            let (step, runningLog, lastEval, tokensSeen) = (step, runningLog, lastEval, tokensSeen)
            _ = try parallel.onMain("saving the final results") {
                // every file is written into a staging folder first, then renamed into output_dir: a save that
                // fails (a full disk) replaces none of the previous run's results
                let staging = args.outputDir + "/final.partial"
                try? FileManager.default.removeItem(atPath: staging)
                try AdapterFiles.save(adapted, to: staging, baseModel: baseModel)
                try valueHead?.save(to: staging)
                let logged = TrainerLog.records(in: args.outputDir)  // read once for the state, the card and the plots
                try TrainingResults.write(self, FinishedRun(steps: step, meanLoss: mean, seconds: seconds, tokens: tokensSeen, lastEval: lastEval),
                                          logged: logged, runningLog: runningLog, to: staging)
                if args.plotLoss { try LossPlot.writeAll(logged, into: staging) }
                try OutputDirectory.moveContents(of: staging, into: args.outputDir)
            }
        }
        return TrainResult(steps: step, meanLoss: mean, seconds: seconds, tokens: tokensSeen, history: history)
    }

    /// One optimizer step: forward and backward over its micro-batches, clip, update.
    func optimizerStep(_ step: Int) throws -> StepRecord {
        if case .preference(let data) = objective { return try preferenceStep(step, data) }
        if case .reward(let data) = objective { return try rewardStep(step, data) }
        if case .kto(let data) = objective { return try ktoStep(step, data) }
        let started = Date()
        let whole = plan.microBatches(ofStep: step).map { MicroBatch($0.map { train[$0] }, padID: padID) }  // every rank's rows
        let normalizer = whole.reduce(0) { $0 + $1.targets }
        guard normalizer > 0 else { throw TrainingError("step \(step + 1): no token of its batch carries a label (every answer was cut?)") }
        let batches = parallel.worldSize == 1 ? whole
            : plan.microBatches(ofStep: step).map { MicroBatch(parallel.share($0) { train[$0].inputIDs.count }.map { train[$0] }, padID: padID) }
        var loss = 0.0
        let trained = adapted.trainable.map(\.tensor), lastMicroBatch = batches.lastIndex { $0.batch > 0 }
        for (m, batch) in batches.enumerated() where batch.batch > 0 {
            // one seed per (seed, step, micro-batch) for dropout masks and NEFTune noise, held through the
            // backward pass (checkpointed layers run again there): a resumed run draws the same
            TrainingRandomness.seed = microBatchSeed(step: step, micro: m)
            defer { TrainingRandomness.seed = nil }
            let l = try microBatchLoss(batch, normalizer: Float(normalizer))
            loss += Double(l.data[0])
            GradMode.backwardFailure = nil
            try parallel.backward(of: trained, last: m == lastMicroBatch) { l.backward() }
            if let failure = GradMode.backwardFailure { throw TrainingError("step \(step + 1): backward failed: \(failure)") }
        }
        loss = try parallel.finishStep(gradientsOf: trained, scalars: [loss])[0]
        let (norm, lr) = try update(step)
        return StepRecord(step: step + 1, loss: loss, gradNorm: norm, learningRate: lr, tokens: whole.reduce(0) { $0 + $1.tokens },
                          seconds: Date().timeIntervalSince(started))
    }

    /// The end of every optimizer step: gradients reported, clipped, applied, cleared. Returns the norm and the rate.
    func update(_ step: Int) throws -> (norm: Double, lr: Double) {
        onGradients?(step + 1)
        let tensors = adapted.trainable.map(\.tensor) + (valueHead.map { [$0.weight, $0.bias] } ?? [])
        let norm = clipGradNorm(tensors, maxNorm: args.maxGradNorm > 0 ? args.maxGradNorm : .infinity)
        let lr = learningRate(atStep: step)
        optimizer.lr = lr
        optimizer.step()
        try shards?.shareUpdates(optimizer.parameters)  // ZeRO-1: each rank updated its own tensors
        optimizer.zeroGrad()
        return (norm, lr)
    }

    /// A seed per (seed, step, micro-batch) for dropout masks and NEFTune noise.
    func microBatchSeed(step: Int, micro m: Int) -> UInt64 {
        var mix = SplitMix64(seed: UInt64(truncatingIfNeeded: args.seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 1_000_003 &+ UInt64(m))
        return mix.next() | 1
    }

    var hasEvalSet: Bool {
        switch objective {
        case .languageModel: return !eval.isEmpty
        case .preference(let data): return !data.eval.isEmpty
        case .reward(let data): return !data.eval.isEmpty
        case .kto(let data): return !data.eval.isEmpty
        }
    }

    /// The evaluation loss and the stage's evaluation metrics (sft: accuracy with compute_accuracy; pt: none).
    func evaluateWithMetrics() throws -> (Double, [String: Double]) {
        switch objective {
        case .languageModel:
            guard args.computeAccuracy else { return (try evaluate(), [:]) }
            // the logits themselves, for their argmax: the model with the method's linears, unfused head
            let result = try GradMode.disabled {
                try adapted.withHooks(fusedHead: nil) { try TokenEvaluation.run(eval, model: adapted.model, batchSize: args.evalBatchSize) }
            }
            return (result.loss, ["accuracy": result.accuracy])
        case .preference(let data): return try evaluatePreference(data)
        case .reward(let data): return try evaluateReward(data)
        case .kto(let data): return try evaluateKTO(data)
        }
    }

    /// The name each optimizer parameter's moments are saved under in a checkpoint, in the optimizer's order.
    var momentNames: [String] {
        adapted.trainable.map(\.savedAs) + (valueHead == nil ? [] : [ValueHead.weightName, ValueHead.biasName])
    }

    /// Stage rm's value head (trained beside the method's tensors, saved to its own file).
    public var valueHead: ValueHead? {
        if case .reward(let data) = objective { return data.valueHead }
        return nil
    }

    /// The evaluation loss as the Hugging Face Trainer averages it (no gradients): each batch of
    /// per_device_eval_batch_size examples gives its mean over its labelled tokens, and the batches are
    /// averaged weighted by their examples (one batch: the token-weighted mean).
    public func evaluate() throws -> Double {
        try GradMode.disabled {
            var weighted = 0.0, examples = 0
            for start in stride(from: 0, to: eval.count, by: args.evalBatchSize) {
                let rows = Array(eval[start..<min(eval.count, start + args.evalBatchSize)])
                let batch = MicroBatch(rows, padID: padID)
                let n = batch.targets
                guard n > 0 else { continue }
                weighted += Double(try microBatchLoss(batch, normalizer: 1).data[0]) / Double(n) * Double(rows.count)
                examples += rows.count
            }
            return examples == 0 ? 0 : weighted / Double(examples)
        }
    }
}
