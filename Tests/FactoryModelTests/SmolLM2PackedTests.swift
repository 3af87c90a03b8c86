import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryPipeline
import XCTest

/// SmolLM2's GGUF (every linear weight Q4_1) loaded through the `q4_1` quantizer keeps its weights in
/// the file's own blocks — taken as they are, or, for the q/k rows llama.cpp reordered, packed again to
/// the same bytes — and decodes through the plugin's product straight from those blocks.
final class SmolLM2PackedTests: XCTestCase {
    func testQ4_1GGUFStaysInItsOwnBlocksAndDecodesLikeTheDenseModel() throws {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let q4_1 = try QuantizerInstance(try plugins.registry(.quantizer).lookup("q4_1"))
        let packed = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins, quantizer: q4_1)
        let dense = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: plugins)
        let report = try XCTUnwrap(packed.packReport)
        let file = try GGUFFile(path: packed.location.path)
        let fileBytes = file.tensors.filter { $0.type == GGMLType.q4_1 }.reduce(0) { $0 + $1.byteCount }
        XCTAssertEqual(report.weights, 210)
        XCTAssertEqual(report.packedBytes, fileBytes, "the packed base is the file's Q4_1 bytes, no more")
        XCTAssertEqual(report.fromFile, 150, "every linear but the 60 reordered q/k weights is taken from the file as it is")
        XCTAssertTrue(packed.parameters.names.allSatisfy { !$0.contains("_proj") }, "no fp32 copy of a linear weight is kept")
        for (name, weight) in packed.parameters.packed.sorted(by: { $0.key < $1.key }) {
            let values = try weight.unpacked().values, reference = try XCTUnwrap(dense.parameters[name]).values
            let first = zip(values, reference).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }?.offset
            XCTAssertNil(first, "\(name): value \(first ?? -1) differs from the dense load of the same file")
        }
        // A 6-token prompt takes the direct product (≤ 8 rows); the dense model multiplies the same values by sgemv/sgemm.
        let ids = try packed.tokenizer.encode("The capital of France is")
        XCTAssertLessThanOrEqual(ids.count, PackedWeight.directRows)
        let before = PackedWeight.roundsInputsTo8Bits
        defer { PackedWeight.roundsInputsTo8Bits = before }
        PackedWeight.roundsInputsTo8Bits = false  // int8_activations: false, the exact products
        let b = try dense.logits(ids).values, a = try packed.logits(ids).values
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(worst, 2e-3, "logits of the packed (exact products) and the dense model")
        // the default products round their inputs to 8 bits: each position's logits move by a small part of their
        // spread and its top token stays the dense model's
        PackedWeight.roundsInputsTo8Bits = true
        let c = try packed.logits(ids).values, V = b.count / ids.count
        for p in 0..<ids.count {
            let (exact, rounded) = (Array(b[(p * V)..<((p + 1) * V)]), Array(c[(p * V)..<((p + 1) * V)]))
            let spread = exact.max()! - exact.min()!, moved = zip(exact, rounded).map { abs($0 - $1) }.max()!
            print("position \(p): logits span \(spread), 8-bit inputs move them by at most \(moved)")
            XCTAssertLessThanOrEqual(moved, 0.05 * spread, "position \(p)")  // measured: at most 0.026; 0.078 when offsets met the exact sum
            XCTAssertGreaterThan(moved, worst, "position \(p): the 8-bit products ran")
            XCTAssertEqual(rounded.indices.max { rounded[$0] < rounded[$1] }, exact.indices.max { exact[$0] < exact[$1] }, "position \(p): top token")
        }
    }
}
