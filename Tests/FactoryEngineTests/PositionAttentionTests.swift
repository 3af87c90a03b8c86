import FactoryEngine
import Foundation
import XCTest

final class PositionAttentionTests: XCTestCase {
    func testRoPERotateHalfWithOffsetPositions() {
        let (T, H, D) = (3, 2, 8)
        let positions = [5, 6, 7]
        let freqs = RopeFrequencies(dim: D, theta: 10000)
        checkOp(OpCase(name: "rope", shapes: [[2, T, H, D]], engine: { rope($0[0], positions: positions, frequencies: freqs) }, reference: { x in
            var out = x[0]
            for b in 0..<2 { for t in 0..<T { for h in 0..<H {
                let base = ((b * T + t) * H + h) * D
                for i in 0..<(D / 2) {
                    let angle = Double(Float(positions[t]) * freqs.invFreq[i])
                    let x1 = x[0][base + i], x2 = x[0][base + i + D / 2]
                    out[base + i] = x1 * Foundation.cos(angle) - x2 * Foundation.sin(angle)
                    out[base + i + D / 2] = x2 * Foundation.cos(angle) + x1 * Foundation.sin(angle)
                }
            } } }
            return out
        }, forwardTolerance: 1e-6))
    }

    /// A Double reference of softmax(q kᵀ · scale + mask) v with GQA, causal offset, window and soft-cap.
    func referenceAttention(_ x: [[Double]], B: Int, Hq: Int, Hkv: Int, T: Int, S: Int, D: Int, p: AttentionParams, mask: [Double]?) -> [Double] {
        var out = [Double](repeating: 0, count: B * Hq * T * D)
        let G = Hq / Hkv
        for b in 0..<B { for h in 0..<Hq { for i in 0..<T {
            var scores = [Double](repeating: -.infinity, count: S)
            for j in 0..<S {
                let pos = i + S - T
                if p.causal && j > pos { continue }
                if let w = p.slidingWindow, pos - j >= w { continue }
                var s = 0.0
                for d in 0..<D { s += x[0][((b * Hq + h) * T + i) * D + d] * x[1][((b * Hkv + h / G) * S + j) * D + d] }
                s *= Double(p.scale)
                if let cap = p.softcap { s = Double(cap) * Foundation.tanh(s / Double(cap)) }
                if let mask { s += mask[b * S + j] }
                scores[j] = s
            }
            let m = scores.max()!
            let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for d in 0..<D {
                var acc = 0.0
                for j in 0..<S { acc += e[j] / z * x[2][((b * Hkv + h / G) * S + j) * D + d] }
                out[((b * Hq + h) * T + i) * D + d] = acc
            }
        } } }
        return out
    }

    func testReferenceAttentionWithGQACausalWindowSoftcapAndPadding() {
        let configs: [(Int, Int, Int, Int, Int, AttentionParams, Bool)] = [
            (1, 1, 1, 1, 1, AttentionParams(scale: 0.5), false),
            (2, 6, 2, 5, 5, AttentionParams(scale: 0.35), false),                           // GQA ratio 3, causal
            (1, 4, 1, 3, 7, AttentionParams(scale: 0.3), false),                            // decode-style offset, ratio 4
            (1, 2, 2, 9, 9, AttentionParams(scale: 0.4, causal: false), true),              // bidirectional + padding
            (1, 2, 1, 9, 9, AttentionParams(scale: 0.4, slidingWindow: 3, softcap: 2), false),
        ]
        for (B, Hq, Hkv, T, S, p, padded) in configs {
            let D = 8
            let maskValues: [Double]? = padded ? (0..<(B * S)).map { $0 % S >= S - 2 ? -Double.infinity : 0 } : nil
            let mask = maskValues.map { Tensor(shape: [B, 1, 1, S], values: $0.map(Float.init)) }
            checkOp(OpCase(name: "attention B\(B) Hq\(Hq) Hkv\(Hkv) T\(T) S\(S)", shapes: [[B, Hq, T, D], [B, Hkv, S, D], [B, Hkv, S, D]],
                           engine: { attentionReference(q: $0[0], k: $0[1], v: $0[2], mask: mask, params: p) },
                           reference: { self.referenceAttention($0, B: B, Hq: Hq, Hkv: Hkv, T: T, S: S, D: D, p: p, mask: maskValues) },
                           domain: { _, x in x * 2 }, forwardTolerance: 1e-5, gradientTolerance: 5e-4))
        }
    }

    func testMasks() {
        XCTAssertEqual(causalMask(queries: 2, keys: 3).values, [0, 0, -.infinity, 0, 0, 0])
        XCTAssertEqual(paddingMask([[1, 0]]).values, [0, -.infinity])
    }

    func testDropoutIsSeededAndScales() {
        let x = Tensor.full([1000], 1).requiringGrad()
        let a = dropout(x, p: 0.25, seed: 7), b = dropout(x, p: 0.25, seed: 7), c = dropout(x, p: 0.25, seed: 8)
        XCTAssertEqual(a.values, b.values)
        XCTAssertNotEqual(a.values, c.values)
        let kept = a.values.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(Double(kept.count) / 1000, 0.75, accuracy: 0.05)
        sum(a).backward()
        XCTAssertEqual(x.grad?.values, a.values)
    }
}
