import FactoryFormats
import Foundation
import XCTest

/// The GGUF reader against smollm2/gguf_weights.json and quant/: names, types,
/// dims, offsets, and dequantised values bit for bit.
final class GGUFTests: XCTestCase {
    func testTheTensorTableMatchesTheFixture() throws {
        let file = try GGUFFile(path: try Fixtures.smollm2)
        let fixture = try Fixtures.json("smollm2/gguf_weights.json")
        XCTAssertEqual(file.dataOffset, fixture["gguf_tensor_data_section_offset"] as? Int)
        let entries = fixture["name_map"] as! [[String: Any]]
        XCTAssertEqual(file.tensors.count, entries.count)
        XCTAssertEqual(entries.count, 272)
        for e in entries {
            let name = e["gguf_name"] as! String
            let t = try XCTUnwrap(file.info(name), name)
            XCTAssertEqual(t.type.description, e["ggml_type"] as? String, name)
            XCTAssertEqual(t.dims, e["gguf_ne"] as? [Int], name)
            XCTAssertEqual(t.shape, e["hf_shape"] as? [Int], name)
            XCTAssertEqual(t.byteCount, e["n_bytes"] as? Int, name)
            XCTAssertEqual(file.dataOffset + t.offset, e["abs_file_offset"] as? Int, name)
        }
        XCTAssertEqual(file.metadata.architecture, "llama")
        XCTAssertEqual(file.metadata.int("llama.block_count"), 30)
    }

    func testDequantisedSlicesAreBitExact() throws {
        let file = try GGUFFile(path: try Fixtures.smollm2)
        let slices = try Fixtures.json("smollm2/gguf_weights.json")["slices"] as! [[String: Any]]
        XCTAssertEqual(slices.count, 7)
        for s in slices {
            let name = s["gguf_name"] as! String
            let t = try XCTUnwrap(file.info(name))
            let values = file.dequantize(t)
            let first = (s["dequant_first64_gguf_order"] as! [Double]).map(Float.init)
            XCTAssertEqual(Array(values[0..<first.count]), first, "\(name) first values")
            if let later = s["dequant_offset_1000_plus_64_gguf_order"] as? [Double], !later.isEmpty {
                XCTAssertEqual(Array(values[1000..<(1000 + later.count)]), later.map(Float.init), "\(name) values 1000...")
            }
            var sum = 0.0, squares = 0.0
            for v in values { sum += Double(v); squares += Double(v) * Double(v) }
            XCTAssertEqual(sum, s["dequant_sum_f64"] as! Double, accuracy: 1e-9 * max(1, abs(sum)), name)
            XCTAssertEqual(squares, s["dequant_sumsq_f64"] as! Double, accuracy: 1e-9 * squares, name)
            // A row range unpacks to the same values as the whole tensor.
            if t.dims.count > 1 {
                let rows = 3, row = t.dims[0]
                var part = [Float](repeating: .nan, count: rows * row)
                part.withUnsafeMutableBufferPointer { file.dequantizeRows(t, first: 2, count: rows, into: $0.baseAddress!) }
                XCTAssertEqual(part, Array(values[(2 * row)..<((2 + rows) * row)]), name)
            }
        }
    }

    func testBlockFormatsReproduceTheQuantFixturesBitForBit() throws {
        for (type, name) in [(GGMLType.q8_0, "q8_0"), (.q4_0, "q4_0"), (.q4_1, "q4_1")] {
            let bytes = try Fixtures.bytes("quant/\(name).bytes.u8.bin")
            let expected = try Fixtures.floats("quant/\(name).dequant.f32.bin")
            var out = [Float](repeating: .nan, count: 256 * 256)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { GGMLDequantizer.dequantize(type, src.baseAddress!, count: 256 * 256, into: $0.baseAddress!) }
            }
            XCTAssertEqual(out.map(\.bitPattern), expected.map(\.bitPattern), name)
        }
    }

    /// Q5_0, Q5_1 and every K-quant: 16 random blocks each (random quants and packed scales, finite fp16
    /// scales), against gguf-py's dequantization (Fixtures/ggml_blocks/generate.py), bit for bit.
    func testQ5AndKQuantBlocksMatchGGUFPyBitForBit() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/ggml_blocks/"
        for type in [GGMLType.q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K] {
            let name = type.description.lowercased()
            let bytes = try Data(contentsOf: URL(fileURLWithPath: here + name + ".blocks.u8.bin"))
            let expected = try Data(contentsOf: URL(fileURLWithPath: here + name + ".dequant.f32.bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(bytes.count, 16 * type.blockBytes, name)
            XCTAssertEqual(expected.count, 16 * type.blockSize, name)
            var out = [Float](repeating: .nan, count: expected.count)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { GGMLDequantizer.dequantize(type, src.baseAddress!, count: expected.count, into: $0.baseAddress!) }
            }
            let mismatches = zip(out, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(expected.count) values differ")
            XCTAssertGreaterThan(Set(expected).count, expected.count / 8, "\(name): the blocks vary")
        }
    }

    /// Packing as ggml's own reference quantizers (quantize_row_*_ref, compiled from llama.cpp's source by
    /// Fixtures/ggml_blocks/generate_packed.py) on the shared [256, 256] quantization input with its edge
    /// rows: Q5_0, Q5_1, Q4_K and Q6_K byte for byte, and each unpacks to what gguf-py's layout says.
    func testPackingMatchesGGMLsReferenceQuantizersByteForByte() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/ggml_blocks/"
        let input = try Fixtures.floats("quant/input.f32.bin")
        XCTAssertEqual(input.count, 256 * 256)
        for type in [GGMLType.q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K] {
            let name = type.description.lowercased()
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: here + name + ".packed.u8.bin")))
            XCTAssertEqual(expected.count, input.count / type.blockSize * type.blockBytes, name)
            var packed = [UInt8](repeating: 0xAA, count: expected.count)
            let ok = input.withUnsafeBufferPointer { x in packed.withUnsafeMutableBytes { GGMLBlockPacker.quantize(type, x.baseAddress!, count: input.count, into: $0.baseAddress!) } }
            XCTAssertTrue(ok, name)
            let blocks = expected.count / type.blockBytes
            let differing = (0..<blocks).filter { b in packed[(b * type.blockBytes)..<((b + 1) * type.blockBytes)] != expected[(b * type.blockBytes)..<((b + 1) * type.blockBytes)] }
            XCTAssertEqual(differing.count, 0, "\(name): \(differing.count) of \(blocks) blocks differ, the first \(differing.first ?? -1)")
            // and the round trip stays near the input (a sanity bound, not the reference)
            var back = [Float](repeating: .nan, count: input.count)
            packed.withUnsafeBytes { p in back.withUnsafeMutableBufferPointer { GGMLDequantizer.dequantize(type, p.baseAddress!, count: input.count, into: $0.baseAddress!) } }
            let rms = (zip(input, back).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(input.count)).squareRoot()
            XCTAssertLessThan(rms, type == .q2_K ? 0.35 : 0.2, name)  // 2-bit codes: four levels a sub-block
        }
    }

    func testATruncatedFileNamesTheTensorAndTheSizes() throws {
        let source = try Fixtures.smollm2
        let cut = try Fixtures.damagedCopy(of: source, length: 50_000_000)
        XCTAssertThrowsError(try GGUFFile(path: cut)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.hasPrefix(cut + ": tensor '"), m)
            XCTAssertTrue(m.contains("but the file has 50000000 bytes: truncated?"), m)
        }
    }

    func testACorruptedTensorTypeIsNamed() throws {
        let source = try Fixtures.smollm2
        let file = try GGUFFile(path: source)
        // The type field of the first tensor sits right after its name and its dims.
        let first = file.tensors[0]
        let typeOffset = file.metadata.endOffset + 8 + first.name.utf8.count + 4 + 8 * first.dims.count
        let broken = try Fixtures.damagedCopy(of: source, patch: (typeOffset, [99, 0, 0, 0]))
        XCTAssertThrowsError(try GGUFFile(path: broken)) { error in
            XCTAssertEqual("\(error)", "\(broken): tensor 'token_embd.weight' has ggml type 99, which Factory cannot read (F32, F16, BF16, Q8_0, Q4_0, Q4_1)")
        }
    }
}
