import CRowKernels
@testable import FactoryEngine
import XCTest

/// Decoding's fp32 products (frk_dense_rows through denseRowProduct): within float rounding of a Double
/// reference on every row and column tail; an input's outputs the same bits alone, in a batch and in any
/// row range; taken by the linear hooks only in a generation's forward, where one `linears` call equals a
/// linear each bit for bit; everywhere else `linear` is sgemm's as before.
final class DenseRowProductTests: XCTestCase {
    func skipWithoutAVX512() throws {
        guard RowKernels.wideAvailable else { throw XCTSkip("NOTE: this CPU has no AVX-512 F/DQ: decoding keeps sgemv, nothing to test") }
    }

    func testEveryOutputIsTheDotProductAndKeepsItsBitsInAnyBatchAndRange() throws {
        try skipWithoutAVX512()
        var rng = SplitMix64(seed: 3)
        for (rows, cols, n) in [(1, 1, 1), (7, 15, 3), (13, 17, 2), (37, 1000, 5), (8, 576, 8), (5, 33, 1)] {
            let w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            var batched = [Float](repeating: .nan, count: n * rows)
            frk_dense_rows(w, cols, rows, x, cols, n, cols, &batched, rows)
            for i in 0..<n {
                for r in 0..<rows {
                    var exact = 0.0, magnitude = 0.0
                    for c in 0..<cols {
                        exact += Double(w[r * cols + c]) * Double(x[i * cols + c])
                        magnitude += abs(Double(w[r * cols + c]) * Double(x[i * cols + c]))
                    }
                    XCTAssertEqual(Double(batched[i * rows + r]), exact, accuracy: 1e-6 * magnitude + 1e-30, "\(rows)x\(cols), input \(i), row \(r)")
                }
                var alone = [Float](repeating: .nan, count: rows)
                Array(x[(i * cols)..<((i + 1) * cols)]).withUnsafeBufferPointer { xi in
                    frk_dense_rows(w, cols, rows, xi.baseAddress, cols, 1, cols, &alone, rows)
                }
                XCTAssertEqual(alone, Array(batched[(i * rows)..<((i + 1) * rows)]), "\(rows)x\(cols): input \(i) alone and in a batch of \(n)")
            }
            // rows asked for from an odd first row, the rest after: the same bits
            let split = rows / 2 + 1
            var ranged = [Float](repeating: .nan, count: n * rows)
            w.withUnsafeBufferPointer { wp in
                ranged.withUnsafeMutableBufferPointer { o in
                    frk_dense_rows(wp.baseAddress!, cols, min(split, rows), x, cols, n, cols, o.baseAddress!, rows)
                    if split < rows {
                        frk_dense_rows(wp.baseAddress! + split * cols, cols, rows - split, x, cols, n, cols, o.baseAddress! + split, rows)
                    }
                }
            }
            XCTAssertEqual(ranged, batched, "\(rows)x\(cols): split at row \(split)")
        }
    }

    func testOnlyAGenerationsForwardTakesItAndLinearsEqualsALinearEach() throws {
        try skipWithoutAVX512()
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        var rng = SplitMix64(seed: 8)
        let cols = 576
        let context = ExecutionContext()
        for (name, rows) in [("q", 576), ("k", 192), ("v", 192)] {
            context.parameters[name + ".weight"] = Tensor(shape: [rows, cols], values: (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) })
        }
        context.parameters["k.bias"] = Tensor(shape: [192], values: (0..<192).map { Float($0) / 64 })
        let x = Tensor(shape: [2, 1, cols], values: (0..<(2 * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) })
        try context.run {
            let sgemm = try ["q", "k", "v"].map { name in try GradMode.disabled { try EngineHooks.linear(name, x).values } }
            let names = ["q", "k", "v"]
            for (i, name) in names.enumerated() {
                let w = context.parameters[name + ".weight"]!
                XCTAssertEqual(sgemm[i], linear(x, w, bias: context.parameters[name + ".bias"]).values, "\(name) outside a generation: sgemm's bits")
            }
            let decoded = try PackedWeight.generating { try names.map { try EngineHooks.linear($0, x).values } }
            XCTAssertNotEqual(decoded, sgemm, "in a generation the dense rows' product runs (another summation order)")
            for i in names.indices {
                XCTAssertEqual(zip(decoded[i], sgemm[i]).map { abs($0 - $1) }.max() ?? 1, 0, accuracy: 2e-5, names[i])
            }
            let together = try PackedWeight.generating { try EngineHooks.linears(names, x).map(\.values) }
            XCTAssertEqual(together, decoded, "one linears call: a linear each, bit for bit")
            let one = x.slice(axis: 0, start: 0, length: 1)
            XCTAssertEqual(try PackedWeight.generating { try EngineHooks.linear("q", one).values }, linear(one, context.parameters["q.weight"]!).values,
                           "one input row keeps sgemv")
            let nine = Tensor(shape: [9, cols], values: (0..<(9 * cols)).map { _ in Float(rng.nextUnit()) })
            XCTAssertEqual(try PackedWeight.generating { try EngineHooks.linear("q", nine).values },
                           linear(nine, context.parameters["q.weight"]!).values, "more than directRows rows: sgemm")
        }
    }
}
