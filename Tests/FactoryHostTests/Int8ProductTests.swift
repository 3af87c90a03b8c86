import BlockProducts
import FactoryEngine
import FactoryHost
import XCTest

/// The 8-bit-input products (Int8Products.c through the q4_0/q4_1/q8_0 plugins' ABI 1.9 calls): every
/// output within the bound that rounding each 32-value input block to int8 allows, every kernel level
/// bit-identical, an input's outputs independent of the other inputs and of the row range asked for, and
/// packedLinear taking them only while `PackedWeight.roundsInputsTo8Bits` holds.
final class Int8ProductTests: XCTestCase {
    static let formats: [(name: String, type: Int32)] = [("q4_0", 2), ("q4_1", 3), ("q8_0", 8)]

    /// Σ_b (max|x_b| / 127 / 2)·Σ_{c in b} |w_c| + 1e-5·Σ|w·x|, and the exact product, per (input, row).
    static func exactAndBound(_ w: [Float], _ x: [Float], rows: Int, cols: Int, n: Int) -> [(exact: Double, bound: Double)] {
        var result: [(Double, Double)] = []
        for i in 0..<n {
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0, bound = 0.0
                for b in 0..<(cols / 32) {
                    var amax = 0.0, weights = 0.0
                    for c in (32 * b)..<(32 * b + 32) {
                        let (wv, xv) = (Double(w[r * cols + c]), Double(x[i * cols + c]))
                        exact += wv * xv
                        magnitude += abs(wv * xv)
                        amax = max(amax, abs(xv))
                        weights += abs(wv)
                    }
                    bound += amax / 127 / 2 * weights
                }
                result.append((exact, bound + 1e-5 * magnitude))
            }
        }
        return result
    }

    func testEveryOutputIsWithinTheRoundingBoundAndEveryLevelAgreesBitForBit() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        for (name, type) in Self.formats {
            let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name))
            XCTAssertTrue(q.multipliesInt8, "\(name) provides the 8-bit-input products")
            for (rows, cols) in [(300, 192), (13, 96), (8, 32)] {  // 13: a group of 8 padded with zero rows
                var rng = SplitMix64(seed: UInt64(rows * cols + Int(type)))
                let w = (0..<(rows * cols)).map { i in Float(rng.nextUnit() * 2 - 1) * Float(1 + i % 5) }
                let packed = try q.quantize(w, rows: rows, cols: cols)
                let dense = try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows)
                let n = 9  // more than one chunk of 8 inputs
                let x = (0..<(n * cols)).map { i in Float(rng.nextUnit() * 2 - 1) * (i % 41 == 3 ? 60 : 1) }
                let expected = Self.exactAndBound(dense, x, rows: rows, cols: cols, n: n)
                let matrix = try XCTUnwrap(packed.withUnsafeBytes { fbp_int8_repack(type, $0.baseAddress!, packed.count / rows, Int32(rows), Int32(cols / 32)) })
                defer { fbp_int8_free(matrix) }
                var levels: [[Float]] = []
                for limit in [FBP_BEST, FBP_AT_MOST_AVX2, FBP_PORTABLE] {
                    var out = [Float](repeating: .nan, count: n * rows)
                    XCTAssertEqual(fbp_int8_multiply(matrix, 0, Int32(rows), x, Int32(n), &out, rows, Int32(limit)), 0)
                    levels.append(out)
                }
                var worst = 0.0
                for (k, e) in expected.enumerated() {
                    let got = Double(levels[0][k])
                    XCTAssertLessThanOrEqual(abs(got - e.exact), e.bound, "\(name) [\(rows), \(cols)] input \(k / rows) row \(k % rows)")
                    worst = max(worst, abs(got - e.exact) / e.bound)
                    XCTAssertEqual(levels[1][k].bitPattern, levels[0][k].bitPattern, "\(name): AVX2 equals the best level")
                    XCTAssertEqual(levels[2][k].bitPattern, levels[0][k].bitPattern, "\(name): the portable loop equals the best level")
                }
                // the bound is not vacuous: rounding moves the products by a visible part of it
                if rows == 300 { XCTAssertGreaterThan(worst, 0.05, "\(name): the outputs differ from the exact product as 8-bit inputs must") }
                // one input alone, and a row range at a wider stride, give the same bits
                for i in [0, n - 1] {
                    var alone = [Float](repeating: .nan, count: rows)
                    XCTAssertEqual(fbp_int8_multiply(matrix, 0, Int32(rows), Array(x[(i * cols)..<((i + 1) * cols)]), 1, &alone, rows, Int32(FBP_BEST)), 0)
                    XCTAssertEqual(alone.map(\.bitPattern), levels[0][(i * rows)..<((i + 1) * rows)].map(\.bitPattern), "\(name) input \(i) alone")
                }
                let (first, count) = (min(3, rows - 1), max(1, rows - 7)), stride = count + 4
                var part = [Float](repeating: .nan, count: n * stride)
                XCTAssertEqual(fbp_int8_multiply(matrix, Int32(first), Int32(count), x, Int32(n), &part, stride, Int32(FBP_BEST)), 0)
                for i in 0..<n {
                    for j in 0..<stride {
                        if j < count {
                            XCTAssertEqual(part[i * stride + j].bitPattern, levels[0][i * rows + first + j].bitPattern, "\(name) row range")
                        } else {
                            XCTAssertTrue(part[i * stride + j].isNaN, "\(name): nothing written beyond row_count")
                        }
                    }
                }
                XCTAssertEqual(fbp_int8_multiply(matrix, Int32(rows - 1), 2, x, 1, &part, stride, Int32(FBP_BEST)), -1, "rows beyond the matrix")
            }
        }
    }

    func testZeroAndNonFiniteInputBlocks() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let (rows, cols) = (16, 64)
        for (name, type) in Self.formats {
            let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup(name))
            let packed = try q.quantize((0..<(rows * cols)).map { Float($0 % 7) - 3 }, rows: rows, cols: cols)
            let matrix = try XCTUnwrap(packed.withUnsafeBytes { fbp_int8_repack(type, $0.baseAddress!, packed.count / rows, Int32(rows), Int32(cols / 32)) })
            defer { fbp_int8_free(matrix) }
            var x = [Float](repeating: 0, count: 3 * cols)
            x[cols + 40] = .nan  // input 1: a nan in its second block
            x[2 * cols + 5] = .infinity
            for limit in [FBP_BEST, FBP_AT_MOST_AVX2, FBP_PORTABLE] {
                var out = [Float](repeating: 1, count: 3 * rows)
                XCTAssertEqual(fbp_int8_multiply(matrix, 0, Int32(rows), x, 3, &out, rows, Int32(limit)), 0)
                XCTAssertEqual(Array(out[0..<rows]), [Float](repeating: 0, count: rows), "\(name): a zero input gives zeros")
                XCTAssertTrue(out[rows...].allSatisfy(\.isNaN), "\(name): nan and inf inputs give nan")
            }
        }
        XCTAssertNil(fbp_int8_repack(12, [UInt8](repeating: 0, count: 144), 144, 1, 8), "q4_K has no 8-bit kernel: no layout")
    }

    /// packedLinear multiplies few-row inputs through the prepared product while roundsInputsTo8Bits holds
    /// (the run key int8_activations, default true), and bit-equal to matmul_rows when it does not.
    func testPackedLinearTakesThe8BitProductOnlyWhenAllowed() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup("q4_1"))
        let (rows, cols, n) = (64, 128, 3)
        var rng = SplitMix64(seed: 11)
        let w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        let packed = try q.quantize(w, rows: rows, cols: cols)
        let prepared = try XCTUnwrap(packed.withUnsafeBytes { try q.prepareRowsInt8($0, rows: rows, cols: cols) })
        XCTAssertGreaterThan(prepared.bytes, 0)
        var preparations = 0
        let weight = PackedWeight(rows: rows, cols: cols, bytes: packed.count, unpack: { first, count, into in
            let values = try q.dequantize(packed, rows: rows, cols: cols, firstRow: first, rowCount: count)
            values.withUnsafeBufferPointer { into.update(from: $0.baseAddress!, count: values.count) }
        }, multiplyRows: { x, n, first, count, out, stride in
            try packed.withUnsafeBytes { try q.multiplyRows($0, rows: rows, cols: cols, x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride) }
        }, prepareInt8: {
            preparations += 1
            return { x, n, first, count, out, stride in try prepared.multiply(x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride) }
        })
        let xValues = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        let x = Tensor(shape: [n, cols], values: xValues)
        var viaPlugin = [Float](repeating: 0, count: n * rows), exact = [Float](repeating: 0, count: n * rows)
        try prepared.multiply(x: xValues, n: n, firstRow: 0, rowCount: rows, out: &viaPlugin, outStride: rows)
        try packed.withUnsafeBytes { try q.multiplyRows($0, rows: rows, cols: cols, x: xValues, n: n, firstRow: 0, rowCount: rows, out: &exact, outStride: rows) }
        XCTAssertNotEqual(viaPlugin, exact, "8-bit inputs change the product")

        let before = PackedWeight.roundsInputsTo8Bits
        defer { PackedWeight.roundsInputsTo8Bits = before }
        PackedWeight.roundsInputsTo8Bits = false
        XCTAssertEqual(try packedLinear(x, weight).values, exact, "int8_activations false: the exact product")
        XCTAssertEqual(preparations, 0, "nothing prepared while not allowed")
        PackedWeight.roundsInputsTo8Bits = true
        XCTAssertEqual(try packedLinear(x, weight).values, viaPlugin, "int8_activations true: the 8-bit product")
        XCTAssertEqual(try packedLinear(x, weight).values, viaPlugin)
        XCTAssertEqual(preparations, 1, "prepared once, on first use")
        let many = Tensor(shape: [PackedWeight.directRows + 1, cols], values: (0..<((PackedWeight.directRows + 1) * cols)).map { _ in Float(rng.nextUnit()) })
        let dense = Tensor(shape: [rows, cols], values: try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows))
        let (a, b) = (try packedLinear(many, weight).values, linear(many, dense).values)
        XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-4, "more rows than directRows keep the tiles and sgemm, exact")
    }

    /// Inside `PackedWeight.generating` (a generation's prompt or step), inputs of up to `generatingRows` rows
    /// take the 8-bit product too; one row more, or the same rows outside a generation (training, loss
    /// evaluation) or with int8_activations false, keep the exact sgemm path.
    func testGenerationsTakeThe8BitProductUpToGeneratingRows() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup("q4_0"))
        let (rows, cols) = (48, 96)
        var rng = SplitMix64(seed: 23)
        let packed = try q.quantize((0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }, rows: rows, cols: cols)
        let prepared = try XCTUnwrap(packed.withUnsafeBytes { try q.prepareRowsInt8($0, rows: rows, cols: cols) })
        let values = try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows)
        let weight = PackedWeight(rows: rows, cols: cols, bytes: packed.count, unpack: { first, count, into in
            values.withUnsafeBufferPointer { into.update(from: $0.baseAddress! + first * cols, count: count * cols) }
        }, prepareInt8: {
            { x, n, first, count, out, stride in try prepared.multiply(x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride) }
        })
        let dense = Tensor(shape: [rows, cols], values: values)
        let before = PackedWeight.roundsInputsTo8Bits
        defer { PackedWeight.roundsInputsTo8Bits = before }
        PackedWeight.roundsInputsTo8Bits = true
        for n in [PackedWeight.directRows + 1, PackedWeight.generatingRows, PackedWeight.generatingRows + 1] {
            let xValues = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let x = Tensor(shape: [n, cols], values: xValues)
            var int8 = [Float](repeating: 0, count: n * rows)
            try prepared.multiply(x: xValues, n: n, firstRow: 0, rowCount: rows, out: &int8, outStride: rows)
            let exact = linear(x, dense).values
            let closeToExact = { (got: [Float]) in zip(got, exact).allSatisfy { abs($0 - $1) <= 1e-4 } }
            XCTAssertFalse(closeToExact(int8), "\(n) rows: 8-bit inputs visibly change the product")
            let generated = try PackedWeight.generating { try packedLinear(x, weight).values }
            if n <= PackedWeight.generatingRows {
                XCTAssertEqual(generated, int8, "\(n) rows in a generation: the 8-bit product")
            } else {
                XCTAssertTrue(closeToExact(generated), "\(n) rows in a generation: more than generatingRows keep sgemm")
            }
            XCTAssertTrue(closeToExact(try GradMode.disabled { try packedLinear(x, weight).values }), "\(n) rows outside a generation: exact")
            PackedWeight.roundsInputsTo8Bits = false
            XCTAssertTrue(closeToExact(try PackedWeight.generating { try packedLinear(x, weight).values }), "\(n) rows, int8_activations false: exact")
            PackedWeight.roundsInputsTo8Bits = true
        }
        XCTAssertFalse(ExecutionContext.current.generating, "the scope ends with its body")
    }
}
