import FactoryHost
import FactoryJSON
import Foundation
import XCTest

/// The in-tree quantizer plugins against ../shared/fixtures/quant (bitsandbytes 0.50.2 and gguf-py
/// 0.19.0 on the same [256, 256] input): packed bytes and dequantized values bit-exact, as its
/// README asks, and any row range unpacked alone equal to the same rows of the whole matrix.
final class QuantizerPluginTests: XCTestCase {
    static let quant = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/quant").path

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.quant + "/" + name))) }
    func floats(_ name: String) throws -> [Float] {
        let b = try bytes(name)
        return b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func quantizer(_ name: String, config: JSON = .object(JSONObject())) throws -> QuantizerInstance {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        return try QuantizerInstance(try plugins.registry(.quantizer).lookup(name), config: config)
    }

    /// Double quantization (bitsandbytes' compress_statistics) against nf4_doublequant / fp4_doublequant:
    /// the fixture's packed parts unpack bit-exactly to its dequantized values (the dynamic map, the
    /// scale formula and the layout); packing the input gives the same 4-bit codes, an offset and
    /// second-level absmax equal to 1e-6, and every block code the nearest map entry — equal to
    /// bitsandbytes' wherever bitsandbytes' is the nearest (its CPU binary search is not always).
    func testDoubleQuantizationMatchesBitsAndBytes() throws {
        let meta = try JSON.parse(bytes: try bytes("quant.json"))
        for name in ["nf4", "fp4"] {
            let m = try XCTUnwrap(meta["bnb"]?[name + "_doublequant"])
            let q = try quantizer(name, config: .object(JSONObject([("double_quantization", .bool(true))])))
            XCTAssertEqual(try q.declaration().bitsPerWeight, 4 + 8.0 / 64 + 32.0 / 16384, accuracy: 1e-12)
            let codes = try bytes(name + "_doublequant.packed.u8.bin"), blockCodes = try bytes(name + "_doublequant.absmax_q.u8.bin")
            let second = try XCTUnwrap(m["state2_absmax"]?.arrayValue).map { Float($0.doubleValue!) }
            let offset = Float(try XCTUnwrap(m["offset"]?.doubleValue))
            func le(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }
            let fixturePacked = codes + blockCodes + le(second) + le([offset])
            XCTAssertEqual(try q.packedSize(rows: 256, cols: 256), fixturePacked.count)
            let reference = try floats(name + "_doublequant.dequant.f32.bin")
            let values = try q.dequantize(fixturePacked, rows: 256, cols: 256, firstRow: 0, rowCount: 256)
            let firstValue = zip(values, reference).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertNil(firstValue, "\(name): value \(firstValue?.offset ?? -1) is \(firstValue?.element.0 ?? 0), bitsandbytes \(firstValue?.element.1 ?? 0)")
            XCTAssertEqual(try q.dequantize(fixturePacked, rows: 256, cols: 256, firstRow: 100, rowCount: 3), Array(values[(100 * 256)..<(103 * 256)]))

            let ours = try q.quantize(try floats("input.f32.bin"), rows: 256, cols: 256)
            XCTAssertEqual(Array(ours[0..<codes.count]), codes, "\(name): the 4-bit codes")
            let tail = ours[(codes.count + 1024)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(tail.count, 5)
            for (a, b) in zip(tail, second + [offset]) { XCTAssertEqual(a, b, accuracy: 1e-6 * abs(b), "\(name): second-level absmax and offset") }
            let map = try floats(name + "_doublequant.state2_code.f32.bin"), absmax = try floats(name + ".absmax.f32.bin")
            var agree = 0
            for b in 0..<1024 {
                let normed = (absmax[b] - offset) / second[b / 256]
                let mine = Int(ours[codes.count + b]), theirs = Int(blockCodes[b])
                let best = map.indices.min { abs(normed - map[$0]) < abs(normed - map[$1]) }!
                XCTAssertEqual(abs(normed - map[mine]), abs(normed - map[best]), "\(name) block \(b): code \(mine) is not the nearest (\(best))")
                if abs(normed - map[theirs]) == abs(normed - map[best]) { XCTAssertEqual(mine, theirs, "\(name) block \(b)") } else { continue }
                agree += 1
            }
            XCTAssertGreaterThanOrEqual(agree, 1020, "\(name): bitsandbytes picks the nearest code almost everywhere")
        }
    }

    func check(_ name: String, packed expected: [UInt8], dequantized: [Float]) throws {
        let q = try quantizer(name)
        let input = try floats("input.f32.bin")
        let packed = try q.quantize(input, rows: 256, cols: 256)
        XCTAssertEqual(packed.count, expected.count, name)
        let firstDiff = zip(packed, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(firstDiff, "\(name): packed bytes differ first at byte \(firstDiff ?? -1)")
        let values = try q.dequantize(expected, rows: 256, cols: 256, firstRow: 0, rowCount: 256)
        let firstValue = zip(values, dequantized).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
        XCTAssertNil(firstValue, "\(name): value \(firstValue?.offset ?? -1) is \(firstValue?.element.0 ?? 0), reference \(firstValue?.element.1 ?? 0)")
        XCTAssertEqual(try q.dequantize(expected, rows: 256, cols: 256, firstRow: 37, rowCount: 5), Array(values[(37 * 256)..<(42 * 256)]), name)
    }

    func testBitsAndBytesFourBitFormatsAreBitExact() throws {
        for name in ["nf4", "fp4"] {
            try check(name, packed: try bytes("\(name).packed.u8.bin") + bytes("\(name).absmax.f32.bin"), dequantized: try floats("\(name).dequant.f32.bin"))
        }
    }

    func testGGUFBlockFormatsAreBitExact() throws {
        for name in ["q8_0", "q4_0", "q4_1"] {
            try check(name, packed: try bytes("\(name).bytes.u8.bin"), dequantized: try floats("\(name).dequant.f32.bin"))
        }
    }

    func testRowwiseInt8RoundTripsWithinHalfAStep() throws {
        let q = try quantizer("int8")
        let input = try floats("input.f32.bin")
        let packed = try q.quantize(input, rows: 256, cols: 256)
        XCTAssertEqual(packed.count, 256 * 256 + 256 * 4)
        let values = try q.dequantize(packed, rows: 256, cols: 256, firstRow: 0, rowCount: 256)
        for r in 0..<256 {
            let row = input[(r * 256)..<((r + 1) * 256)], absmax = row.map(abs).max() ?? 0
            for c in 0..<256 { XCTAssertLessThanOrEqual(abs(values[r * 256 + c] - input[r * 256 + c]), absmax / 254 * 1.0001 + 1e-12, "row \(r) col \(c)") }
        }
        XCTAssertEqual(try q.dequantize(packed, rows: 256, cols: 256, firstRow: 100, rowCount: 3), Array(values[(100 * 256)..<(103 * 256)]))
    }

    func testDeclarationsAndRefusals() throws {
        let expected: [(String, Double)] = [("nf4", 4.5), ("fp4", 4.5), ("int8", 8), ("q8_0", 8.5), ("q4_0", 4.5), ("q4_1", 5)]
        for (name, bits) in expected {
            let q = try quantizer(name)
            let d = try q.declaration()
            XCTAssertEqual(d.format, name)
            XCTAssertEqual(d.bitsPerWeight, bits, name)
            XCTAssertFalse(d.trainableBase, "\(name): a quantized base trains adapters only")
        }
        XCTAssertThrowsError(try quantizer("q4_1").packedSize(rows: 2, cols: 48)) { e in XCTAssertTrue("\(e)".contains("multiple of 32"), "\(e)") }
        XCTAssertThrowsError(try quantizer("nf4").quantize([1, .nan] + [Float](repeating: 0, count: 62), rows: 1, cols: 64)) { e in
            XCTAssertTrue("\(e)".contains("row 0, column 1 is nan"), "\(e)")
        }
    }
}
