// factory-engine-bench: the engine's speed on the shapes the issue names,
// next to raw cblas_sgemm. Prints one JSON object per line:
//   {"op": ..., "shape": ..., "seconds": median, "gflops" | "ns_per_element": ...}
// Run through bench/engine.sh, which also runs the same ops in PyTorch.
import COpenBLAS
import FactoryEngine
import Foundation

BLASKernels.prepare()  // re-executes with OpenBLAS's AVX-512 kernels where the CPU has them

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// Median seconds of `body` over `runs` runs after `warmup` runs.
func time(runs: Int = 9, warmup: Int = 2, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var samples: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return median(samples)
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func random(_ shape: [Int]) -> Tensor {
    var s: UInt64 = 42
    let n = shape.reduce(1, *)
    let t = Tensor(shape: shape)
    for i in 0..<n {
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        t.data[i] = Float(Int64(s >> 40) - (1 << 23)) / Float(1 << 23)
    }
    return t
}

let threads = Int(ProcessInfo.processInfo.environment["FACTORY_THREADS"] ?? "2") ?? 2
Threads.set(threads)

// ---- matmul: x [2048, 576] · W [1536, 576]ᵀ (a linear layer) and its two backward products ----
let (T, C, F) = (2048, 576, 1536)
let x = random([T, C]), w = random([F, C]), g = random([T, F])
let cases: [(String, String, Int, Int, Int, () -> Tensor, (UnsafeMutablePointer<Float>) -> Void)] = [
    ("matmul_forward", "[2048x576]·[576x1536]", T, F, C, { matmul(x, w.transposed()) }, { out in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(F), Int32(C), 1, x.data, Int32(C), w.data, Int32(C), 0, out, Int32(F))
    }),
    ("matmul_backward_input", "[2048x1536]·[1536x576]", T, C, F, { matmul(g, w) }, { out in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(C), Int32(F), 1, g.data, Int32(F), w.data, Int32(C), 0, out, Int32(C))
    }),
    ("matmul_backward_weight", "[1536x2048]·[2048x576]", F, C, T, { matmul(g.transposed(), x) }, { out in
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(F), Int32(C), Int32(T), 1, g.data, Int32(F), x.data, Int32(C), 0, out, Int32(C))
    }),
]
for (name, shape, M, N, K, engine, raw) in cases {
    let flops = 2.0 * Double(M) * Double(N) * Double(K)
    let out = UnsafeMutablePointer<Float>.allocate(capacity: M * N)
    out.initialize(repeating: 0, count: M * N)
    // Interleaved, so that clock and cache effects hit both alike.
    var rawSamples: [Double] = [], engineSamples: [Double] = []
    for run in 0..<13 {
        let r = time(runs: 1, warmup: run == 0 ? 2 : 0) { raw(out) }
        let e = time(runs: 1, warmup: run == 0 ? 2 : 0) { _ = engine() }
        rawSamples.append(r)
        engineSamples.append(e)
    }
    let rawSeconds = median(rawSamples), engineSeconds = median(engineSamples)
    out.deallocate()
    emit(["op": name, "shape": shape, "seconds": engineSeconds, "gflops": flops / engineSeconds / 1e9,
          "raw_sgemm_gflops": flops / rawSeconds / 1e9, "ratio_to_raw_sgemm": rawSeconds / engineSeconds, "threads": threads])
}

// ---- elementwise and row ops on 4M elements (4096 rows of 1024) ----
let rows = 4096, D = 1024, n = rows * D
let a = random([rows, D]), b = random([rows, D]), weight = random([D])
let labels = (0..<rows).map { ($0 * 7919) % D }
let elementwise: [(String, () -> Tensor)] = [
    ("rms_norm", { rmsNorm(a, weight: weight, eps: 1e-5) }),
    ("silu_mul", { swiglu(a, b) }),
    ("softmax", { softmax(a) }),
    ("cross_entropy", { crossEntropy(a, labels: labels) }),
]
// Both row-kernel paths in the same sitting: the portable SIMD8 loops, then AVX-512 where the CPU has it.
for wide in RowKernels.wideAvailable ? [false, true] : [false] {
    RowKernels.usesWide = wide
    for (name, op) in elementwise {
        let seconds = time { _ = op() }
        emit(["op": name, "shape": "[4096x1024]", "seconds": seconds, "ns_per_element": seconds / Double(n) * 1e9, "threads": threads, "kernels": RowKernels.name])
    }
    // forward + backward of the same ops
    for (name, op) in elementwise {
        let xa = a.detached().requiringGrad(), xb = b.detached().requiringGrad()
        let run: () -> Void = {
            let y: Tensor
            switch name {
            case "rms_norm": y = rmsNorm(xa, weight: weight, eps: 1e-5)
            case "silu_mul": y = swiglu(xa, xb)
            case "softmax": y = softmax(xa)
            default: y = crossEntropy(xa, labels: labels)
            }
            y.backward(y.count == 1 ? nil : Tensor.full(y.shape, 1))
            xa.zeroGrad()
            xb.zeroGrad()
        }
        let seconds = time(runs: 7) { run() }
        emit(["op": name + "_forward_backward", "shape": "[4096x1024]", "seconds": seconds, "ns_per_element": seconds / Double(n) * 1e9,
              "threads": threads, "kernels": RowKernels.name])
    }
}
