// Quantized matmul: x · Wᵀ with W kept packed by each quantizer plugin (row tiles unpacked into a
// small buffer feeding sgemm) against fp32 sgemm of the same shape, forward and input gradient;
// and the packed bytes per parameter.   Usage: factory-quant-bench [TOKENS] [REPEATS]
import FactoryEngine
import FactoryHost
import Foundation

BLASKernels.prepare()
let argv = CommandLine.arguments
let tokens = argv.count > 1 ? Int(argv[1])! : 2048, repeats = argv.count > 2 ? Int(argv[2])! : 5
let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
var rng = SplitMix64(seed: 7)
func best(_ body: () throws -> Void) rethrows -> Double {
    var t = Double.infinity
    for _ in 0..<repeats {
        let start = Date()
        try body()
        t = min(t, Date().timeIntervalSince(start))
    }
    return t
}
for (outF, inF) in [(576, 576), (1536, 576), (576, 1536)] {
    let w = (0..<(outF * inF)).map { _ in Float(rng.nextUnit() * 2 - 1) }
    let dense = Tensor(shape: [outF, inF], values: w)
    let x = Tensor(shape: [tokens, inF], values: (0..<(tokens * inF)).map { _ in Float(rng.nextUnit() * 2 - 1) })
    let g = Tensor(shape: [tokens, outF], values: (0..<(tokens * outF)).map { _ in Float(rng.nextUnit() * 2 - 1) })
    let fp32 = best {
        let xx = x.detached().requiringGrad()
        linear(xx, dense, bias: nil).backward(g)
    }
    let flops = 2.0 * 2 * Double(tokens * outF * inF)
    print(String(format: "{\"shape\":\"%dx%d\",\"format\":\"fp32\",\"seconds\":%.4f,\"gflops\":%.1f,\"bytes_per_param\":4.0}", outF, inF, fp32, flops / fp32 / 1e9))
    for name in ["nf4", "fp4", "int8", "q8_0", "q4_0", "q4_1"] {
        let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name))
        let packed = try q.quantize(w, rows: outF, cols: inF)
        let weight = PackedWeight(rows: outF, cols: inF, bytes: packed.count) { first, count, into in
            let values = try q.dequantize(packed, rows: outF, cols: inF, firstRow: first, rowCount: count)
            values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
        }
        let t = try best {
            let xx = x.detached().requiringGrad()
            try packedLinear(xx, weight).backward(g)
        }
        print(String(format: "{\"shape\":\"%dx%d\",\"format\":\"%@\",\"seconds\":%.4f,\"gflops\":%.1f,\"vs_fp32\":%.2f,\"bytes_per_param\":%.3f}",
                     outF, inF, name, t, flops / t / 1e9, fp32 / t, Double(packed.count) / Double(outF * inF)))
    }
}
