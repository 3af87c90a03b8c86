import FactoryJSON
import Foundation
import XCTest
@testable import FactoryTraining

/// predict_with_generate's metrics against LLaMA-Factory's ComputeSimilarity run by the Python packages it
/// uses (jieba 0.42.1, nltk 3.10.4, rouge-chinese 1.0.3) on 400 prediction/label pairs — English, Chinese,
/// mixed, and edge cases (empty and whitespace-only texts, ellipses, quotes after sentence ends, numbers,
/// C++ and AT&T): Fixtures/similarity, made by generate.py there. jieba's words must be the same word for
/// word, every score the same to the last bit (they are rounded to 4 decimals), the means within 1e-9.
final class SimilarityMetricTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/similarity/similarity.json"
    nonisolated(unsafe) static var cachedMetric: SimilarityMetric?

    func metric() throws -> SimilarityMetric {
        if let m = Self.cachedMetric { return m }
        let dictionary: JiebaDictionary
        do { dictionary = try JiebaDictionary.installed() } catch {
            throw XCTSkip("SKIPPED LOUDLY: jieba is not installed (scripts/install-deps.sh installs it): \(error)")
        }
        let m = SimilarityMetric(segmenter: JiebaSegmenter(dictionary: dictionary))
        Self.cachedMetric = m
        return m
    }

    func reference() throws -> JSON {
        try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixture))))
    }

    func testJiebaCutsEveryTextAsJiebaDoes() throws {
        let segmenter = try metric().segmenter
        let pairs = try XCTUnwrap(try reference()["pairs"]?.arrayValue)
        XCTAssertEqual(pairs.count, 400)
        var hmmWords = 0
        for (i, pair) in pairs.enumerated() {
            for (text, words) in [("predict", "predict_words"), ("label", "label_words")] {
                let input = try XCTUnwrap(pair[text]?.stringValue)
                let expected = try XCTUnwrap(pair[words]?.arrayValue).compactMap(\.stringValue)
                XCTAssertEqual(segmenter.cut(input), expected, "pair \(i) \(text): \(input.debugDescription)")
                hmmWords += expected.filter { $0.unicodeScalars.count > 1 && segmenter.dictionary.frequency(of: ArraySlice($0.unicodeScalars)) == 0
                                              && $0.unicodeScalars.allSatisfy(JiebaSegmenter.isHan) }.count
            }
        }
        XCTAssertGreaterThan(hmmWords, 5, "the pairs exercise the hidden Markov model (words not in the dictionary)")
    }

    func testEveryScoreEqualsLLaMAFactorysMetric() throws {
        let metric = try metric()
        let json = try reference()
        let pairs = try XCTUnwrap(json["pairs"]?.arrayValue)
        var all: [SimilarityScores] = []
        for (i, pair) in pairs.enumerated() {
            let prediction = try XCTUnwrap(pair["predict"]?.stringValue), label = try XCTUnwrap(pair["label"]?.stringValue)
            let scores = metric.score(prediction: prediction, label: label)
            all.append(scores)
            for (name, value) in zip(SimilarityScores.names, scores.values) {
                let expected = try XCTUnwrap(pair[name]?.doubleValue, "pair \(i) \(name)")
                XCTAssertEqual(value, expected, "pair \(i) \(name): \(prediction.debugDescription) vs \(label.debugDescription)")
            }
        }
        let means = SimilarityMetric.means(all)
        for (name, value) in means {
            let expected = try XCTUnwrap(json["means"]?[name]?.doubleValue)
            XCTAssertEqual(value, expected, accuracy: 1e-9, name)
        }
        // not a degenerate set: scores spread over the range
        XCTAssertTrue(all.contains { $0.bleu4 == 100 } && all.contains { $0.bleu4 == 0 } && all.contains { $0.rouge2 > 0 && $0.rouge2 < 100 })
    }

    func testBLEUOfHandComputedCases() {
        // "ab" vs "ab": p1 = 1, p2 = 1, p3 = 1/(2·1), p4 = 1/(4·1) → exp(¼·(ln ½ + ln ¼)) = 2^(-3/4)
        XCTAssertEqual(SentenceBLEU.score(hypothesis: Array("ab".unicodeScalars), reference: Array("ab".unicodeScalars)), pow(2, -0.75), accuracy: 1e-15)
        XCTAssertEqual(SentenceBLEU.score(hypothesis: Array("xy".unicodeScalars), reference: Array("ab".unicodeScalars)), 0)
        XCTAssertEqual(PythonArithmetic.round(0.123456789, digits: 4), 0.1235)
        XCTAssertEqual(PythonArithmetic.fsum([1e100, 1, -1e100, 1e-100]), 1)
    }
}
