@testable import FactoryExport
import FactoryEngine
import FactoryJSON
import XCTest

/// Files as transformers' save_pretrained splits them by max_shard_size: tensors in order, a new file when
/// the next would pass the limit, an oversized tensor alone; the index maps every tensor to its file.
final class ShardPlanTests: XCTestCase {
    func testTensorsSplitInOrderAtTheLimit() throws {
        let plan = ShardPlan(sizes: [40, 50, 20, 120, 10, 10], limit: 100)
        XCTAssertEqual(plan.files.map(\.name), ["model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                                "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"])
        XCTAssertEqual(plan.files.map(\.tensors), [[0, 1], [2], [3], [4, 5]])
        XCTAssertEqual(plan.totalBytes, 250)
        let index = try XCTUnwrap(plan.index(names: ["a", "b", "c", "d", "e", "f"]))
        XCTAssertEqual(index["metadata"]?["total_size"]?.intValue, 250)
        XCTAssertEqual(index["weight_map"]?["d"]?.stringValue, "model-00003-of-00004.safetensors")
        XCTAssertEqual(index["weight_map"]?["f"]?.stringValue, "model-00004-of-00004.safetensors")
    }

    func testOneFileHasNoIndex() {
        let plan = ShardPlan(sizes: [40, 50], limit: 5_000_000_000)
        XCTAssertEqual(plan.files.map(\.name), ["model.safetensors"])
        XCTAssertNil(plan.index(names: ["a", "b"]))
    }

    func testWeightFilesAreRecognised() {
        for name in ["model.safetensors", "model.safetensors.index.json", "model-00002-of-00003.safetensors"] { XCTAssertTrue(ShardPlan.isWeightFile(name), name) }
        for name in ["config.json", "value_head.safetensors", "adapter_model.safetensors", "model-notes.txt"] { XCTAssertFalse(ShardPlan.isWeightFile(name), name) }
    }

    func testHalfPrecisionEntriesRoundToNearestEven() throws {
        // 1 + 2^-8 is halfway between two bf16 values: ties to even (1.0); 1 + 3·2^-9 rounds up
        let values: [Float] = [1 + 1 / 256, 1 + 3 / 512, -2.5, 65504]
        let t = Tensor(shape: [4], values: values)
        var bytes: [UInt8] = []
        try ExportDType.bfloat16.entry(name: "x", tensor: t).produce { bytes += $0 }
        let bits = stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
        XCTAssertEqual(bits.map { Float(bitPattern: UInt32($0) << 16) }, [1, 1 + 1 / 128, -2.5, 65536])
        bytes = []
        try ExportDType.float16.entry(name: "x", tensor: t).produce { bytes += $0 }
        let halves = stride(from: 0, to: bytes.count, by: 2).map { Float(Float16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)) }
        XCTAssertEqual(halves[2], -2.5)
        XCTAssertEqual(halves[3], 65504)
        XCTAssertEqual(ExportDType.float16.entry(name: "x", tensor: t).byteCount, 8)
    }
}
