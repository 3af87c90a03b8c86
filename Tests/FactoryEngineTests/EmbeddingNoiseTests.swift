import FactoryEngine
import XCTest

/// NEFTune's noise on the input embeddings: uniform in ±alpha / sqrt(seq · hidden), seeded, only
/// while recording (training), never under no_grad (evaluation, generation).
final class EmbeddingNoiseTests: XCTestCase {
    func testNoiseIsUniformWithinNEFTunesBoundSeededAndTrainingOnly() {
        let V = 10, D = 64, seq = 8
        let w = Tensor(shape: [V, D], values: (0..<(V * D)).map { Float($0 % 7) * 0.1 })
        let ids = (0..<(2 * seq)).map { $0 % V }
        let clean = embedding(w, ids: ids).values
        EmbeddingNoise.current = EmbeddingNoise(alpha: 5, seq: seq, seed: 11)
        defer { EmbeddingNoise.current = nil }
        let noisy = embedding(w, ids: ids).values, again = embedding(w, ids: ids).values
        let bound = Float(5) / Float(seq * D).squareRoot()
        let deltas = zip(noisy, clean).map { $0 - $1 }
        XCTAssertLessThanOrEqual(deltas.map(abs).max() ?? 0, bound * 1.0001)
        XCTAssertGreaterThan(deltas.map(abs).max() ?? 0, bound * 0.9, "the noise should reach close to its bound over 1024 draws")
        XCTAssertLessThan(abs(deltas.reduce(0, +) / Float(deltas.count)), bound * 0.1, "uniform noise is centred")
        XCTAssertEqual(noisy, again, "same seed, same noise")
        XCTAssertEqual(GradMode.disabled { embedding(w, ids: ids).values }, clean, "no noise without recording")
    }
}
