// Stage dpo throughput and memory: SmolLM2-135M-Instruct with LoRA (r 8, every linear), sigmoid loss,
// B pairs a step, each answer row T tokens (a 32-token prompt, unlabelled, then T − 32 answer tokens,
// chosen and rejected cut from different places of alpaca_en_demo), fp32, N optimizer steps after one
// warm-up step; the reference is the base with the adapter switched off. The same rows as
// bench/dpo_trl.py builds for TRL. With EPOCHS > 1: B × STEPS pairs trained EPOCHS times, every step
// timed but the first (the reference values are then kept after the first epoch: ReferenceCache).
// Usage: factory-dpo-bench SHARED_DIR [B] [T] [STEPS] [EPOCHS]
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation

BLASKernels.prepare(training: true)

let argv = CommandLine.arguments
guard argv.count >= 2 else {
    print("usage: factory-dpo-bench SHARED_DIR [B] [T] [STEPS] [EPOCHS]")
    exit(2)
}
let shared = argv[1]
let B = argv.count > 2 ? Int(argv[2])! : 2, T = argv.count > 3 ? Int(argv[3])! : 512, steps = argv.count > 4 ? Int(argv[4])! : 4
let epochs = argv.count > 5 ? Int(argv[5])! : 1
let prompt = 32
let t0 = Date()
let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
let flash = try AttentionKernelInstance(try plugins.registry(.attentionKernel).lookup("flash"))  // what flash_attn: auto picks
EngineHooks.attention = { q, k, v, mask, p in try kernelAttention(q: q, k: k, v: v, mask: mask, params: p, kernel: flash) }
let model = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins)
let rows = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: shared + "/data/alpaca_en_demo.json")))).arrayValue ?? []
let pairCount = epochs > 1 ? B * steps : B * (steps + 1)  // several epochs: STEPS steps an epoch, all timed but the first
var stream: [Int] = []
for row in rows where stream.count < pairCount * (2 * T - prompt) {
    stream += try model.tokenizer.encode((row["instruction"]?.stringValue ?? "") + "\n" + (row["output"]?.stringValue ?? ""))
}
let pairs = (0..<pairCount).map { i -> PairwiseExample in
    let base = i * (2 * T - prompt)
    let p = Array(stream[base..<(base + prompt)])
    let chosen = Array(stream[(base + prompt)..<(base + T)]), rejected = Array(stream[(base + T)..<(base + 2 * T - prompt)])
    func example(_ answer: [Int]) -> EncodedExample { EncodedExample(inputIDs: p + answer, labels: [Int](repeating: -100, count: prompt) + answer) }
    return PairwiseExample(chosen: example(chosen), rejected: example(rejected))
}
let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup("lora"),
                                          config: .object(JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", "all")])))
let adapted = try AdaptedModel(model: model, method: method)
var args = TrainingArguments()
args.outputDir = NSTemporaryDirectory() + "factory-dpo-bench-\(getpid())"
(args.batchSize, args.maxSteps, args.learningRate, args.disableShuffling) = (B, epochs > 1 ? steps * epochs : steps + 1, 5e-6, true)
(args.loggingSteps, args.saveSteps) = (1000, 1_000_000)
var settings = PreferenceSettings()  // FACTORY_BENCH_LOSS=simpo: no reference pass (to time the policy alone)
settings.kind = PreferenceLossKind(rawValue: ProcessInfo.processInfo.environment["FACTORY_BENCH_LOSS"] ?? "sigmoid") ?? .sigmoid
let data = PreferenceData(train: pairs, eval: [], settings: settings)
let trainer = try Trainer(adapted: adapted, args: args, train: [], padID: 2, baseModel: "bench", objective: .preference(data))
trainer.print = { _ in }
var times: [Double] = []
var firstStep = 0.0
trainer.onStep = { r in
    if r.step == 1 { firstStep = Date().timeIntervalSince(t0) } else { times.append(r.seconds) }
}
try trainer.run()
try? FileManager.default.removeItem(atPath: args.outputDir)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let seconds = times.reduce(0, +) / Double(times.count)
print(JSON.object(JSONObject([("framework", "factory"), ("pairs_per_second", .double(Double(B) / seconds)), ("seconds_per_step", .double(seconds)),
                              ("peak_rss_mib", .double(Double(usage.ru_maxrss) / 1024)), ("first_step_seconds", .double(firstStep)),
                              ("blas_kernels", .string(BLASKernels.coreName))])).serialized())
