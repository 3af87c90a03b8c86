@testable import FactoryEngine
import XCTest

/// DecodeAttention (a generation's decoding steps, keys and values read in place from a KV cache): each
/// row against the reference attention over its own keys, with GQA, a sliding window, a soft cap and head
/// sizes that are not a multiple of 8; a row's bits the same alone and in any batch; and the calls it
/// serves (only inside a generation, one query per row, no mask beyond the rows' key counts).
final class DecodeAttentionTests: XCTestCase {
    /// A KV cache's layer: [rows, Hkv, capacity, D] values, of which attention reads a view of S keys.
    func cache(_ rows: Int, _ Hkv: Int, _ capacity: Int, _ D: Int, _ rng: inout SplitMix64) -> Tensor {
        Tensor(shape: [rows, Hkv, capacity, D], values: (0..<(rows * Hkv * capacity * D)).map { _ in Float(rng.nextUnit() * 2 - 1) })
    }

    func testEachRowMatchesTheReferenceOverItsOwnKeysAndKeepsItsBitsInAnyBatch() {
        let cases: [(Hq: Int, Hkv: Int, D: Int, S: Int, lengths: [Int], p: AttentionParams)] = [
            (6, 2, 16, 29, [29, 7, 0, 16], AttentionParams(scale: 0.25)),                             // GQA 3, a row with no key
            (4, 4, 20, 13, [13, 1, 9, 12], AttentionParams(scale: 0.3, slidingWindow: 5, softcap: 3)),  // D % 8 = 4
            (8, 2, 64, 300, [300, 257, 31, 8], AttentionParams(scale: 0.125)),                        // large enough to split
            (9, 3, 64, 400, [400, 120, 5], AttentionParams(scale: 0.125)),  // SmolLM2's heads: threads split a kv head's query heads
        ]
        for (n, c) in cases.enumerated() {
            var rng = SplitMix64(seed: UInt64(40 + n))
            let B = c.lengths.count
            let k = cache(B, c.Hkv, c.S + 5, c.D, &rng).slice(axis: 2, start: 0, length: c.S)
            let v = cache(B, c.Hkv, c.S + 5, c.D, &rng).slice(axis: 2, start: 0, length: c.S)
            let q = Tensor(shape: [B, c.Hq, 1, c.D], values: (0..<(B * c.Hq * c.D)).map { _ in Float(rng.nextUnit() * 4 - 2) })
            XCTAssertTrue(PackedWeight.generating { DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: c.lengths) })
            let batched = DecodeAttention.attention(q: q, k: k, v: v, lengths: c.lengths, params: c.p)
            for (b, keys) in c.lengths.enumerated() {
                let row = Array(batched.values[(b * c.Hq * c.D)..<((b + 1) * c.Hq * c.D)])
                let qb = q.slice(axis: 0, start: b, length: 1)
                let kb = k.slice(axis: 0, start: b, length: 1).slice(axis: 2, start: 0, length: keys)
                let vb = v.slice(axis: 0, start: b, length: 1).slice(axis: 2, start: 0, length: keys)
                let alone = DecodeAttention.attention(q: qb, k: kb, v: vb, lengths: nil, params: c.p).values
                XCTAssertEqual(row.map(\.bitPattern), alone.map(\.bitPattern), "case \(n) row \(b): the same bits alone as in the batch")
                guard keys > 0 else {
                    XCTAssertEqual(row, [Float](repeating: 0, count: row.count), "case \(n) row \(b): no key gives 0")
                    continue
                }
                let reference = attentionReference(q: qb, k: kb.contiguous(), v: vb.contiguous(), params: c.p).values
                let worst = zip(row, reference).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 2e-6, "case \(n) row \(b) (\(keys) keys): against the reference attention")
            }
        }
    }

    func testServesOnlyAGenerationsOneQueryRowsWithoutAMask() {
        var rng = SplitMix64(seed: 5)
        let k = cache(2, 1, 8, 8, &rng), v = cache(2, 1, 8, 8, &rng)
        let q = Tensor(shape: [2, 2, 1, 8], values: [Float](repeating: 0.5, count: 32))
        let q2 = Tensor(shape: [2, 2, 2, 8], values: [Float](repeating: 0.5, count: 64))
        let mask = Tensor(shape: [2, 1, 1, 8], values: [Float](repeating: 0, count: 16))
        XCTAssertFalse(GradMode.disabled { DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: nil) }, "outside a generation")
        PackedWeight.generating {
            XCTAssertTrue(DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: nil))
            XCTAssertTrue(DecodeAttention.serves(q: q, k: k, v: v, mask: mask, lengths: [8, 3]), "a batched step's mask is its key counts")
            XCTAssertFalse(DecodeAttention.serves(q: q, k: k, v: v, mask: mask, lengths: nil), "any other mask")
            XCTAssertFalse(DecodeAttention.serves(q: q2, k: k, v: v, mask: nil, lengths: nil), "two queries per row (a prompt)")
            XCTAssertFalse(DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: [9, 3]), "a key count beyond the keys")
            XCTAssertFalse(DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: [8]), "a key count per row")
            XCTAssertFalse(DecodeAttention.serves(q: q, k: k.transposed(2, 3), v: v, mask: nil, lengths: nil), "keys not in rows")
            let recorded = GradMode.set(true)
            XCTAssertFalse(DecodeAttention.serves(q: q, k: k, v: v, mask: nil, lengths: nil), "while recording gradients")
            _ = GradMode.set(recorded)
        }
    }
}
