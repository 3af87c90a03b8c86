import BlockProducts
import FactoryEngine
import FactoryHost
import FactoryJSON
import XCTest

/// A linear over a weight kept packed by a quantizer plugin (tiles unpacked into a small buffer
/// feeding sgemm) equals the dense linear over the dequantized weight, forward and input gradient.
/// So does the plugin's product straight from packed rows (matmul_rows), which few-row inputs take.
final class PackedLinearTests: XCTestCase {
    func testTheDirectProductOfEveryQuantizerEqualsTheDenseLinear() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        // [rows, cols]: several 4-bit block pairs; for ggml's 32-value blocks also an odd block count.
        let shapes: [String: [(Int, Int)]] = ["nf4": [(300, 192)], "fp4": [(300, 192)], "int8": [(300, 100), (70, 96)],
                                              "q8_0": [(300, 192), (70, 96)], "q4_0": [(300, 192), (70, 96)], "q4_1": [(300, 192), (70, 96)],
                                              "q5_0": [(300, 192), (70, 96)], "q5_1": [(300, 192), (70, 96)],
                                              "q4_k": [(70, 512), (33, 256)], "q6_k": [(70, 512), (33, 256)], "q2_k": [(70, 512), (33, 256)],
                                              "q3_k": [(70, 512), (33, 256)], "q5_k": [(70, 512), (33, 256)]]
        let doubleQuantized = JSON.object(JSONObject([("double_quantization", .bool(true))]))
        let cases = shapes.sorted { $0.key < $1.key }.map { ($0.key, JSON.object(JSONObject()), $0.value) } + [("nf4", doubleQuantized, [(300, 192)])]
        for (name, config, list) in cases {
            let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name), config: config)
            XCTAssertTrue(q.multipliesPacked, "\(name) provides matmul_rows")
            for (rows, cols) in list {
                var rng = SplitMix64(seed: UInt64(rows * cols))
                let w = (0..<(rows * cols)).map { i in Float(rng.nextUnit() * 2 - 1) * Float(1 + i % 5) }
                let packed = try q.quantize(w, rows: rows, cols: cols)
                let dense = Tensor(shape: [rows, cols], values: try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows))
                let weight = PackedWeight(rows: rows, cols: cols, bytes: packed.count, unpack: { first, count, into in
                    let values = try q.dequantize(packed, rows: rows, cols: cols, firstRow: first, rowCount: count)
                    values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
                }, multiplyRows: { x, n, first, count, out, stride in
                    try packed.withUnsafeBytes { p in
                        try q.multiplyRows(p, rows: rows, cols: cols, x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride)
                    }
                })
                for n in [1, 3, PackedWeight.directRows] {
                    let xValues = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
                    let y1 = try packedLinear(Tensor(shape: [n, cols], values: xValues), weight)
                    let y2 = linear(Tensor(shape: [n, cols], values: xValues), dense)
                    // error relative to Σ|w·x| of each output: the sums differ only in rounding order
                    let (d, a, b) = (dense.values, y1.values, y2.values)
                    var worst: Float = 0
                    for i in 0..<n {
                        for r in 0..<rows {
                            var scale: Float = 0
                            for c in 0..<cols { scale += abs(d[r * cols + c] * xValues[i * cols + c]) }
                            worst = max(worst, abs(a[i * rows + r] - b[i * rows + r]) / scale)
                        }
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-5, "\(name) [\(rows), \(cols)], \(n) inputs")
                }
            }
        }
    }

    /// Each of BlockProducts' three paths (AVX-512, AVX2, portable loop; a CPU without one falls back to the
    /// next) equals the exact product to fp32 rounding, also for an input with a few large values among
    /// small ones (a residual stream's outlier channels, which one int16 per value would round coarsely).
    func testEveryBlockKernelPathEqualsTheExactProduct() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        for (name, type) in [("q8_0", 8), ("q4_0", 2), ("q4_1", 3), ("q5_0", 6), ("q5_1", 7), ("q2_k", 10), ("q3_k", 11), ("q4_k", 12), ("q5_k", 13), ("q6_k", 14)] {
            let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name))
            let (rows, cols, n) = (40, 768, 2)
            var rng = SplitMix64(seed: UInt64(type))
            let w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let packed = try q.quantize(w, rows: rows, cols: cols)
            let dense = try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows)
            let x = (0..<(n * cols)).map { i in Float(rng.nextUnit() * 2 - 1) * (i % 97 == 5 ? 300 : 1) }
            var outputs: [[Float]] = []
            for limit in [FBP_BEST, FBP_AT_MOST_AVX2, FBP_PORTABLE] {
                var out = [Float](repeating: .nan, count: n * rows)
                let status = packed.withUnsafeBytes { p in
                    fbp_multiply(Int32(type), p.baseAddress!, packed.count / rows, 0, Int32(rows), Int32(cols / 32), x, Int32(n), &out, rows, Int32(limit))
                }
                XCTAssertEqual(status, 0, name)
                outputs.append(out)
            }
            for i in 0..<n {
                for r in 0..<rows {
                    var scale: Float = 0, exact: Double = 0
                    for c in 0..<cols {
                        scale += abs(dense[r * cols + c] * x[i * cols + c])
                        exact += Double(dense[r * cols + c]) * Double(x[i * cols + c])
                    }
                    for out in outputs { XCTAssertLessThanOrEqual(abs(Double(out[i * rows + r]) - exact), 1e-6 * Double(scale), "\(name) row \(r)") }
                }
            }
        }
        XCTAssertEqual(fbp_multiply(15, nil, 0, 0, 0, 0, nil, 0, nil, 0, 0), -1, "q8_K (an activation format) has no kernel: refused, nothing written")
    }

    func testPackedLinearEqualsTheDenseLinearOfTheDequantizedWeight() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        for name in ["q4_1", "nf4", "int8"] {
            let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name))
            let (rows, cols, n) = (1000, 128, 7)  // several tiles, the last one partial
            var rng = SplitMix64(seed: 3)
            let w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let packed = try q.quantize(w, rows: rows, cols: cols)
            let dense = Tensor(shape: [rows, cols], values: try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows))
            let weight = PackedWeight(rows: rows, cols: cols, bytes: packed.count) { first, count, into in
                let values = try q.dequantize(packed, rows: rows, cols: cols, firstRow: first, rowCount: count)
                values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
            }
            let bias = Tensor(shape: [rows], values: (0..<rows).map { Float($0 % 7) * 0.1 })
            let xValues = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let g = Tensor(shape: [1, n, rows], values: (0..<(n * rows)).map { _ in Float(rng.nextUnit() * 2 - 1) })
            let x1 = Tensor(shape: [1, n, cols], values: xValues).requiringGrad(), x2 = Tensor(shape: [1, n, cols], values: xValues).requiringGrad()
            let y1 = try packedLinear(x1, weight, bias: bias), y2 = linear(x2, dense, bias: bias)
            XCTAssertEqual(y1.shape, [1, n, rows])
            XCTAssertLessThanOrEqual(zip(y1.values, y2.values).map { abs($0 - $1) }.max() ?? 1, 1e-4, name)
            y1.backward(g)
            y2.backward(g)
            let d1 = try XCTUnwrap(x1.grad).values, d2 = try XCTUnwrap(x2.grad).values
            XCTAssertLessThanOrEqual(zip(d1, d2).map { abs($0 - $1) }.max() ?? 1, 1e-4, name)
            XCTAssertLessThan(packed.count, rows * cols * 4 / 3, "\(name) keeps the weight packed")
        }
    }
}
