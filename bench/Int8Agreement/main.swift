// factory-int8-agreement: how often decoding with 8-bit inputs (int8_activations, the default) picks
// another greedy token than the exact products, and at what margins. For each prompt (the first N
// instructions of an Alpaca JSON file in ChatML, SmolLM2's format) it decodes T tokens greedily with exact
// products, then feeds the same tokens through the 8-bit products (teacher forcing) and compares the two
// logit vectors at every step: how many argmaxes differ, the exact top-two margin where they do, and the
// error the 8-bit inputs put on that margin everywhere. It also decodes freely with 8-bit inputs and counts
// the prompts whose text is identical. One JSON object on stdout (with each prompt's ids and both greedy
// continuations, which bench/int8_agreement_llamacpp.py compares with llama.cpp's).
//   factory-int8-agreement MODEL.gguf ALPACA.json [--prompts 32] [--tokens 64]
import FactoryEngine
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

BLASKernels.prepare()
Threads.set(Int(ProcessInfo.processInfo.environment["FACTORY_THREADS"] ?? "2") ?? 2)

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ def: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return def }
    args.removeSubrange(i...(i + 1))
    return v
}
let promptCount = option("--prompts", 32), tokens = option("--tokens", 64)
guard args.count == 2 else {
    FileHandle.standardError.write(Data("usage: factory-int8-agreement MODEL.gguf ALPACA.json [--prompts 32] [--tokens 64]\n".utf8))
    exit(2)
}
let plugins = try PluginSet.load(explicit: [], includeDefaults: true)
let model = try LoadedModel.load(args[0], plugins: plugins, fileBlocks: true)  // as factory generate loads a GGUF
let rows = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: args[1])))).arrayValue ?? []
let prompts: [[Int]] = try rows.prefix(promptCount).map { row in
    let instruction = row["instruction"]?.stringValue ?? "", input = row["input"]?.stringValue ?? ""
    let user = input.isEmpty ? instruction : instruction + "\n" + input
    let text = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
    return try model.tokenizer.encode(text)
}

/// Logits after each of `fed` (teacher forcing from the prompt's end), or greedy tokens when `fed` is nil.
func decode(_ prompt: [Int], fed: [Int]?) throws -> (tokens: [Int], logits: [[Float]]) {
    let cache = KVCache(layers: model.layers, capacity: prompt.count + tokens + 1)
    var (input, start, out, all) = (prompt, 0, [Int](), [[Float]]())
    for step in 0..<tokens {
        let logits = try PackedWeight.generating {  // as Generator runs a prompt and each step
            try model.forward(ids: input, batch: 1, seq: input.count, positions: Array(start..<(start + input.count)), cache: cache)
        }.contiguous()
        let V = logits.shape[logits.rank - 1]
        let last = Array(UnsafeBufferPointer(start: logits.data + (input.count - 1) * V, count: V))
        all.append(last)
        let next = fed?[step] ?? last.indices.max { last[$0] < last[$1] }!
        out.append(next)
        start += input.count
        input = [next]
    }
    return (out, all)
}

func topTwo(_ l: [Float]) -> (Int, Int) {
    var (a, b) = (0, 1)
    if l[b] > l[a] { (a, b) = (b, a) }
    for i in 2..<l.count where l[i] > l[b] {
        if l[i] > l[a] { (a, b) = (i, a) } else { b = i }
    }
    return (a, b)
}

var marginErrors: [Double] = [], flips: [[String: Any]] = [], identical = 0, steps = 0
var runs: [[String: Any]] = []  // per prompt: its ids and both greedy continuations
for (p, prompt) in prompts.enumerated() {
    PackedWeight.roundsInputsTo8Bits = false
    let exact = try decode(prompt, fed: nil)
    PackedWeight.roundsInputsTo8Bits = true
    let forced = try decode(prompt, fed: exact.tokens)
    let free = try decode(prompt, fed: nil)
    if free.tokens == exact.tokens { identical += 1 }
    var tops: [[Double]] = []  // per step: the exact logits' top two tokens and their margin
    for t in 0..<tokens {
        let (a, b) = topTwo(exact.logits[t])
        tops.append([Double(a), Double(b), Double(exact.logits[t][a] - exact.logits[t][b])])
    }
    runs.append(["prompt_ids": prompt, "exact": exact.tokens, "int8": free.tokens, "top_two": tops])
    for t in 0..<tokens {
        let (e, q) = (exact.logits[t], forced.logits[t])
        let (a, b) = topTwo(e)
        let margin = Double(e[a] - e[b]), moved = Double((q[a] - q[b]) - (e[a] - e[b]))
        marginErrors.append(abs(moved))
        steps += 1
        let (qa, _) = topTwo(q)
        if qa != a {  // the exact logits' lead of their choice over the 8-bit choice
            flips.append(["prompt": p, "step": t, "exact_margin": Double(e[a] - e[qa]), "top_two_margin": margin])
        }
    }
}
let sorted = marginErrors.sorted()
func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
let fields: [String: Any] = [
    "prompts": prompts.count, "tokens": tokens, "steps": steps, "argmax_differs": flips.count, "identical_texts": identical,
    "margin_error_median": quantile(0.5), "margin_error_p99": quantile(0.99), "margin_error_max": sorted.last ?? 0,
    "flips": flips, "runs": runs,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self))
