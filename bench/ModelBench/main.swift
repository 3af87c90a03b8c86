// factory-model-bench: load time, prefill and decode speed and peak RSS of a
// model through the real plugin path. One JSON object per line.
//   factory-model-bench [MODEL] [--prefill N] [--decode N] [--quantizer NAME] [--dense] [--exact] [--rows R] [--prompt P]
// --rows R: also decode R sequences together (BatchDecoder, as `factory api` batches them): the time of one
// step of R rows against one row's, without prefills or HTTP.
// --dense: a GGUF's weights all unpacked to fp32 (by default, with no quantizer, decoding multiplies
// the file's own blocks, as `factory generate` does). --exact: packed products keep fp32 inputs
// (`int8_activations: false`) instead of rounding them to 8 bits. --prompt P: the timed generation's prompt
// length (default 8); its first token is the prompt's prefill.
import FactoryEngine
import FactoryHost
import FactoryPipeline
import Foundation

BLASKernels.prepare()  // re-executes with OpenBLAS's AVX-512 kernels where the CPU has them

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
func emit(_ fields: [String: Any]) {
    print(String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self))
}

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ def: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return def }
    args.removeSubrange(i...(i + 1))
    return v
}
func stringOption(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    defer { args.removeSubrange(i...(i + 1)) }
    return args[i + 1]
}
let prefillTokens = option("--prefill", 512), decodeTokens = option("--decode", 128), batchRows = option("--rows", 0)
let promptTokens = option("--prompt", 8)
let quantizerName = stringOption("--quantizer")
let dense = args.contains("--dense"), exact = args.contains("--exact")
args.removeAll { $0 == "--dense" || $0 == "--exact" }
PackedWeight.roundsInputsTo8Bits = !exact
let request = args.first ?? "HuggingFaceTB/SmolLM2-135M-Instruct"
Threads.set(Int(ProcessInfo.processInfo.environment["FACTORY_THREADS"] ?? "2") ?? 2)

let t0 = now()
let plugins = try PluginSet.load(explicit: [], includeDefaults: true)
let quantizer = try quantizerName.map { try QuantizerInstance(try plugins.registry(.quantizer).lookup($0)) }
let model = try LoadedModel.load(request, plugins: plugins, quantizer: quantizer, fileBlocks: !dense)  // as factory generate loads it
let loadSeconds = now() - t0
emit(["op": "load", "seconds": loadSeconds, "peak_rss_mib": peakRSSMiB(), "model": request, "quantizer": quantizerName ?? "none",
      "packed": model.packReport?.line ?? "nothing packed", "file_blocks": model.fileBlocksReport ?? "none"])

// Prefill: one forward of N tokens (no cache), median of 3.
let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 200)
let allIDs = try model.tokenizer.encode(text)  // ~2,000 tokens: the prefill, the cold prompt and --rows prompts come from it
let ids = Array(allIDs.prefix(prefillTokens))
var samples: [Double] = []
for _ in 0..<3 {
    let s = now()
    let misses = BufferPool.shared.misses
    _ = try model.logits(ids)
    samples.append(now() - s)
    if BufferPool.shared.misses > misses { FileHandle.standardError.write(Data("prefill: \(BufferPool.shared.misses - misses) fresh allocations\n".utf8)) }
}
let prefill = samples.sorted()[1]
emit(["op": "prefill", "tokens": ids.count, "seconds": prefill, "tokens_per_second": Double(ids.count) / prefill, "peak_rss_mib": peakRSSMiB()])

// Decode: greedy from a short prompt, EOS ignored; the first token (prefill of the prompt) is timed apart.
var options = SamplingOptions()
options.doSample = false
options.ignoreEOS = true
options.maxNewTokens = decodeTokens
guard promptTokens >= 1, 2 * promptTokens <= allIDs.count else { fatalError("--prompt \(promptTokens): from 1 to \(allIDs.count / 2) tokens") }
let prompt = Array(allIDs.prefix(promptTokens))
// A first, cold generation of 2 tokens from another prompt: it pays the one-time work of a model's first
// decoding (the quantizers' 8-bit layouts are built on first use, buffers for decoding's shapes), reported
// apart; the timed decode below starts warm, as a server's requests after the first do.
var warmOptions = options
warmOptions.maxNewTokens = 2
let coldStart = now()
var coldFirst: Double?
try Generator(model: model).generate(prompt: Array(allIDs[promptTokens..<(2 * promptTokens)]), options: warmOptions, stopIDs: []) { _, _ in
    if coldFirst == nil { coldFirst = now() - coldStart }
    return true
}
var stamps: [Double] = []
let start = now()
try Generator(model: model).generate(prompt: prompt, options: options, stopIDs: []) { _, _ in stamps.append(now()); return true }
let firstToken = stamps[0] - start
let decodeSeconds = stamps.last! - stamps[0]
emit(["op": "decode", "tokens": stamps.count - 1, "seconds": decodeSeconds, "tokens_per_second": decodeSeconds > 0 ? Double(stamps.count - 1) / decodeSeconds : 0,
      "first_token_seconds": firstToken, "cold_first_token_seconds": coldFirst ?? 0, "peak_rss_mib": peakRSSMiB()])

// Batched decode: R sequences (prompts of 8 tokens from different offsets) join, then step together.
if batchRows > 0 {
    guard batchRows * 8 <= allIDs.count else { fatalError("--rows \(batchRows): at most \(allIDs.count / 8) prompts of 8 tokens") }
    guard let batch = BatchDecoder(model: model, maxSequences: batchRows) else { fatalError("--rows: this model family cannot decode rows together") }
    for r in 0..<batchRows {
        batch.add(prompt: Array(allIDs[(r * 8)..<(r * 8 + 8)]), options: options, stopIDs: [], stopStrings: [],
                  callbacks: .init(onToken: { _, _ in true }, onEnd: { _ in }))
    }
    let timedSteps = max(1, decodeTokens - 3)  // each sequence stops after decodeTokens tokens
    batch.step()  // warm-up: the first batched step sizes the buffers
    let s = now()
    for _ in 0..<timedSteps { batch.step() }
    let seconds = (now() - s) / Double(timedSteps)
    emit(["op": "decode_rows", "rows": batch.count, "step_seconds": seconds, "tokens_per_second": Double(batch.count) / seconds,
          "one_row_step_seconds": decodeSeconds / Double(max(1, stamps.count - 1)), "peak_rss_mib": peakRSSMiB()])
}
