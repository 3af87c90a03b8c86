import FactoryEngine
import FactoryHost
import FactoryPipeline
import Foundation
import XCTest

/// Continuous batching (BatchDecoder): sequences of different lengths that join and leave between steps
/// decode exactly as each does alone through Generator.
final class BatchDecoderTests: XCTestCase {
    func plugins() throws -> PluginSet {
        if let p = LlamaForwardTests.plugins { return p }
        let p = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        LlamaForwardTests.plugins = p
        return p
    }

    /// Every prompt alone, then all through a decoder of `rows` rows: a new one joins whenever a row is
    /// free (so they join at different steps), each with its own options.
    func compare(_ model: LoadedModel, prompts: [[Int]], options: [SamplingOptions], rows: Int, stopIDs: Set<Int> = [],
                 file: StaticString = #filePath, line: UInt = #line) throws {
        let alone = try zip(prompts, options).map { try Generator(model: model).generate(prompt: $0, options: $1, stopIDs: stopIDs) }
        guard let decoder = BatchDecoder(model: model, maxSequences: rows) else { return XCTFail("no batch decoder", file: file, line: line) }
        var results = [[Int]?](repeating: nil, count: prompts.count)
        var streamed = [[Int]](repeating: [], count: prompts.count)
        var next = 0, steps = 0, widest = 0
        while next < prompts.count || decoder.count > 0 {
            while next < prompts.count && decoder.hasRoom {
                let i = next
                decoder.add(prompt: prompts[i], options: options[i], stopIDs: stopIDs, stopStrings: [],
                            callbacks: .init(onToken: { id, _ in streamed[i].append(id); return true },
                                             onEnd: { results[i] = try? $0.get() }))
                next += 1
            }
            widest = max(widest, decoder.count)
            decoder.step()
            steps += 1
            XCTAssertLessThan(steps, 10_000, file: file, line: line)
            if steps >= 10_000 { return }
        }
        XCTAssertEqual(widest, min(rows, prompts.count), "rows decoded together", file: file, line: line)
        for i in prompts.indices {
            XCTAssertEqual(results[i], alone[i], "sequence \(i) (prompt of \(prompts[i].count) tokens)", file: file, line: line)
            XCTAssertEqual(streamed[i], alone[i], "sequence \(i) streamed", file: file, line: line)
        }
    }

    func greedy(_ n: Int) -> SamplingOptions {
        var o = SamplingOptions()
        (o.doSample, o.maxNewTokens, o.ignoreEOS) = (false, n, true)
        return o
    }

    func prompts(_ lengths: [Int], vocabulary: Int, seed: UInt64) -> [[Int]] {
        var rng = SplitMix64(seed: seed)
        return lengths.map { n in (0..<n).map { _ in Int(rng.next() % UInt64(vocabulary)) } }
    }

    /// SmolLM2 from its Q4_1 GGUF as `factory api` runs it (the file's own blocks): six prompts of 3 to 40
    /// tokens through four rows, greedy with different lengths and seeded sampling, token for token.
    func testSmolLM2DecodesTheSameInABatchAsAlone() throws {
        let model = try LoadedModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", plugins: try plugins(), fileBlocks: true)
        XCTAssertNotNil(model.fileBlocksReport)
        let ps = prompts([3, 40, 11, 25, 7, 18], vocabulary: 49152, seed: 1)
        var sampled = SamplingOptions()
        (sampled.maxNewTokens, sampled.temperature, sampled.topP, sampled.seed, sampled.repetitionPenalty) = (20, 0.9, 0.9, 7, 1.1)
        var penalised = greedy(14)
        (penalised.presencePenalty, penalised.frequencyPenalty) = (0.5, 0.3)
        try compare(model, prompts: ps, options: [greedy(24), greedy(9), sampled, greedy(30), penalised, greedy(16)], rows: 4)
    }

    /// Stop tokens end a sequence mid-batch (its row goes to the next prompt).
    func testASequenceThatStopsLeavesItsRow() throws {
        let model = try LoadedModel.load(LlamaForwardTests.fixtures + "/tiny/llama", plugins: try plugins())
        let ps = prompts([5, 9, 4, 12, 6], vocabulary: 512, seed: 3)
        let alone = try ps.map { try Generator(model: model).generate(prompt: $0, options: greedy(20), stopIDs: []) }
        // a stop token each sequence meets early: its third generated token
        let stops = Set(alone.map { $0[2] })
        var options = greedy(20)
        options.ignoreEOS = false
        try compare(model, prompts: ps, options: Array(repeating: options, count: ps.count), rows: 3, stopIDs: stops)
    }

    /// Every tiny family (fp32 weights, the sgemm path) batched as alone; Gemma 2's sliding window of 128
    /// keys is crossed by one long prompt while short ones decode beside it.
    func testEveryTinyFamilyBatches() throws {
        for family in ["llama", "qwen2", "qwen3", "mistral", "phi3", "gemma", "gemma2"] {
            let model = try LoadedModel.load(LlamaForwardTests.fixtures + "/tiny/" + family, plugins: try plugins())
            let lengths = family == "gemma2" ? [150, 6, 20] : [8, 3, 15]
            try compare(model, prompts: prompts(lengths, vocabulary: model.vocabularySize, seed: 5), options: [greedy(12), greedy(30), greedy(7)], rows: 3)
        }
    }

    func testABatchNeedsARowAndAFamilyWithForwardRows() throws {
        let model = try LoadedModel.load(LlamaForwardTests.fixtures + "/tiny/llama", plugins: try plugins())
        XCTAssertTrue(model.family.forwardsRows)
        XCTAssertNil(BatchDecoder(model: model, maxSequences: 0))
    }
}
