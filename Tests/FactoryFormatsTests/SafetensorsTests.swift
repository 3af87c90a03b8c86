import FactoryFormats
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
    func testReadsTheTinyLlamaCheckpoint() throws {
        let checkpoint = try SafetensorsCheckpoint(directory: Fixtures.root + "/tiny/llama")
        let q = try XCTUnwrap(checkpoint.info("model.layers.0.self_attn.q_proj.weight"))
        XCTAssertEqual(q.dtype, "F32")
        XCTAssertEqual(q.shape, [64, 64])
        let values = try checkpoint.float32("model.layers.0.self_attn.q_proj.weight")
        XCTAssertEqual(values.count, 64 * 64)
        XCTAssertTrue(values.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(checkpoint.names.count, 10)
    }

    func testTheTinyGGUFF32EqualsTheSafetensorsWeights() throws {
        // tiny-llama-f32.gguf holds the same weights (q/k rows permuted); v_proj is not permuted.
        let gguf = try GGUFFile(path: Fixtures.root + "/tiny/llama_gguf/tiny-llama-f32.gguf")
        let checkpoint = try SafetensorsCheckpoint(directory: Fixtures.root + "/tiny/llama")
        let v = try XCTUnwrap(gguf.info("blk.0.attn_v.weight"))
        XCTAssertEqual(gguf.dequantize(v), try checkpoint.float32("model.layers.0.self_attn.v_proj.weight"))
    }

    func testShardedIndexAndDamagedFiles() throws {
        let dir = NSTemporaryDirectory() + "shards-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Two shards written by hand: a [2] F32 tensor and a [2] BF16 tensor.
        func shard(_ name: String, _ dtype: String, _ payload: [UInt8]) throws {
            let header = #"{"\#(name)":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,\#(payload.count)]},"__metadata__":{"format":"pt"}}"#
            var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
            bytes += Array(header.utf8) + payload
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/\(name).safetensors"))
        }
        try shard("a", "F32", [Float(1.5), -2].withUnsafeBytes { Array($0) })
        try shard("b", "BF16", [0x80, 0x3F, 0x40, 0xC0])  // 1.0, -3.0
        try #"{"weight_map": {"a": "a.safetensors", "b": "b.safetensors"}}"#.write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        let checkpoint = try SafetensorsCheckpoint(directory: dir)
        XCTAssertEqual(try checkpoint.float32("a"), [1.5, -2])
        XCTAssertEqual(try checkpoint.float32("b"), [1, -3])
        XCTAssertEqual(checkpoint.files.count, 2)

        let truncated = try Fixtures.damagedCopy(of: dir + "/a.safetensors", length: 8 + 90)
        XCTAssertThrowsError(try SafetensorsFile(path: truncated)) { error in
            XCTAssertTrue("\(error)".hasPrefix(truncated + ": "), "\(error)")
        }
        let full = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.safetensors"))
        let cut = try Fixtures.damagedCopy(of: dir + "/a.safetensors", length: full.count - 4)
        XCTAssertThrowsError(try SafetensorsFile(path: cut)) { error in
            XCTAssertEqual("\(error)", "\(cut): tensor 'a' ends at data byte 8 but the data section has 4 bytes: truncated?")
        }
    }
}
