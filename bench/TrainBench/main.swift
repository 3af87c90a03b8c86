// Training throughput and memory: SmolLM2-135M-Instruct, one fine-tuning method, batches of
// B × T tokens cut from alpaca_en_demo (every token labelled, like the PEFT side of
// bench/train.sh), N optimizer steps after one warm-up step, fp32 or with bf16 products (PRECISION bf16: what
// `bf16: true` does; emulated by oneDNN where the CPU has no native bf16, which the output says).
// Usage: factory-train-bench SHARED_DIR METHOD TARGETS [B] [T] [STEPS] [PRECISION(fp32|bf16)]
import FactoryData
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import FactoryTraining
import Foundation

BLASKernels.prepare(training: true)  // AVX-512 kernels where the CPU has them; a short OpenBLAS worker spin

let argv = CommandLine.arguments
guard argv.count >= 4 else {
    print("usage: factory-train-bench SHARED_DIR METHOD(lora|full|freeze) TARGETS(q_proj,v_proj|all) [B] [T] [STEPS] [PRECISION(fp32|bf16)]")
    exit(2)
}
let shared = argv[1], methodName = argv[2], targets = argv[3]
let B = argv.count > 4 ? Int(argv[4])! : 4, T = argv.count > 5 ? Int(argv[5])! : 512, steps = argv.count > 6 ? Int(argv[6])! : 5
let precision = argv.count > 7 ? argv[7] : "fp32"
guard precision == "fp32" || precision == "bf16" else {
    print("factory-train-bench: PRECISION is fp32 or bf16, not \(precision)")
    exit(2)
}

// FACTORY_BENCH_CHECKPOINT=selective (default) | full (recompute every GEMM) | off
switch ProcessInfo.processInfo.environment["FACTORY_BENCH_CHECKPOINT"] ?? "selective" {
case "off": GradientCheckpointing.enabled = false
case "full": GradientCheckpointing.keepLinearOutputs = false
default: break
}
let t0 = Date()
let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
// FACTORY_BENCH_ATTENTION=flash (default: what `flash_attn: auto` picks) | eager | reference
var attentionKernel: AttentionKernelInstance?
switch ProcessInfo.processInfo.environment["FACTORY_BENCH_ATTENTION"] ?? "flash" {
case "reference": break
case let name:
    let kernel = try AttentionKernelInstance(try plugins.registry(.attentionKernel).lookup(name))
    attentionKernel = kernel
    EngineHooks.attention = { q, k, v, mask, p in try kernelAttention(q: q, k: k, v: v, mask: mask, params: p, kernel: kernel) }
}
let model = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins)
let rows = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: shared + "/data/alpaca_en_demo.json")))).arrayValue ?? []
var stream: [Int] = []
for row in rows where stream.count < B * T * (steps + 1) {
    stream += try model.tokenizer.encode((row["instruction"]?.stringValue ?? "") + "\n" + (row["output"]?.stringValue ?? ""))
}
let examples = (0..<(B * (steps + 1))).map { i in
    let ids = Array(stream[(i * T)..<((i + 1) * T)])
    return EncodedExample(inputIDs: ids, labels: ids)
}
var config = JSONObject([("lora_rank", 8), ("lora_alpha", 16), ("lora_target", .string(targets))])
if methodName == "freeze" { config = JSONObject([("freeze_trainable_layers", 2)]) }
if methodName == "full" { config = JSONObject() }
let method = try FinetuningMethodInstance(try plugins.registry(.finetuningMethod).lookup(methodName), config: .object(config))
let adapted = try AdaptedModel(model: model, method: method)
var args = TrainingArguments()
args.outputDir = NSTemporaryDirectory() + "factory-train-bench-\(getpid())"
args.batchSize = B
args.maxSteps = steps + 1
args.learningRate = 1e-4
args.disableShuffling = true
args.loggingSteps = 1000
args.saveSteps = 1_000_000
if precision == "bf16" {
    ExecutionContext.current.bf16 = MixedPrecision.products(for: adapted, in: .current, warn: { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) })
}
let trainer = try Trainer(adapted: adapted, args: args, train: examples, padID: 2, baseModel: "bench")
trainer.print = { _ in }
var times: [Double] = [], losses: [Double] = []
var firstStep = 0.0
trainer.onStep = { r in
    if ProcessInfo.processInfo.environment["FACTORY_BENCH_VERBOSE"] != nil {
        FileHandle.standardError.write("step \(r.step) \(r.seconds) s, pool misses \(BufferPool.shared.misses), live \(BufferPool.shared.live >> 20) MiB\n".data(using: .utf8)!)
    }
    losses.append(r.loss)
    if r.step == 1 { firstStep = Date().timeIntervalSince(t0) } else { times.append(r.seconds) }
}
try trainer.run()
try? FileManager.default.removeItem(atPath: args.outputDir)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let seconds = times.reduce(0, +) / Double(times.count)
let tokens = Double(B * T)
let bf16Kind = BF16Products.native ? "bf16" : "bf16 (emulated: no AVX512_BF16 or AMX)"
let result = JSONObject([("framework", "factory"), ("precision", .string(precision == "bf16" ? bf16Kind : "fp32")), ("method", .string(methodName)), ("targets", .string(targets)),
                         ("tokens_per_second", .double(tokens / seconds)), ("seconds_per_step", .double(seconds)),
                         ("peak_rss_mib", .double(Double(usage.ru_maxrss) / 1024)), ("first_step_seconds", .double(firstStep)),
                         ("trainable", .int(Int64(adapted.trainableCount))), ("losses", .array(losses.map { .double($0) }))])
print(JSON.object(result).serialized())
