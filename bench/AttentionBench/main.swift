// Attention kernels side by side: forward + backward time and the memory each keeps for backward,
// for the host's reference attention and each kernel plugin, on SmolLM2's shape (9 query heads,
// 3 kv heads, head size 64), causal. Usage: factory-attention-bench [B] [T] [REPEATS]
import FactoryEngine
import FactoryHost
import Foundation

let argv = CommandLine.arguments
let B = argv.count > 1 ? Int(argv[1])! : 4, T = argv.count > 2 ? Int(argv[2])! : 512, repeats = argv.count > 3 ? Int(argv[3])! : 5
let Hq = 9, Hkv = 3, D = 64
let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
var rng = SplitMix64(seed: 1)
func random(_ shape: [Int]) -> Tensor { Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.nextUnit() * 2 - 1) }) }
let q = random([B, Hq, T, D]), k = random([B, Hkv, T, D]), v = random([B, Hkv, T, D]), g = random([B, Hq, T, D])
let params = AttentionParams(scale: 1 / Float(D).squareRoot())
// causal model FLOPs: forward q·kᵀ and p·v over the visible half, backward twice that
let flops = Double(B * Hq) * Double(T) * Double(T + 1) / 2 * Double(D) * 2 * 2 * 3
var kernels: [(String, AttentionKernel?)] = [("reference", nil)]
for name in ["eager", "flash"] { kernels.append((name, try AttentionKernelInstance(try plugins.registry(.attentionKernel).lookup(name)))) }
for (name, kernel) in kernels {
    var best = Double.infinity, savedFloats = 0
    for _ in 0..<repeats {
        let qq = q.detached().requiringGrad(), kk = k.detached().requiringGrad(), vv = v.detached().requiringGrad()
        let start = Date()
        let out = try kernel.map { try kernelAttention(q: qq, k: kk, v: vv, mask: nil, params: params, kernel: $0) }
            ?? attentionReference(q: qq, k: kk, v: vv, params: params)
        out.backward(g)
        best = min(best, Date().timeIntervalSince(start))
    }
    if let kernel {
        savedFloats = try kernel.savedCount(AttentionProblem(batch: B, qHeads: Hq, kvHeads: Hkv, queries: T, keys: T, headDim: D, valueDim: D, params: params))
    } else {
        savedFloats = B * Hq * T * T
    }
    print(String(format: "{\"kernel\":\"%@\",\"B\":%d,\"T\":%d,\"seconds\":%.4f,\"gflops\":%.1f,\"saved_mib\":%.2f}",
                 name, B, T, best, flops / best / 1e9, Double(savedFloats * 4) / 1048576))
}
