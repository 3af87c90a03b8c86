@testable import FactoryTraining
import CZlib
import FactoryFormats
import XCTest

/// training_loss.png as LLaMA-Factory draws it: its smoothing, whole-number step ticks that never
/// overlap, and a compressed PNG that decodes to the rendered pixels.
final class LossPlotTests: XCTestCase {
    func testSmoothingIsLLaMAFactorys() {
        // LLaMA-Factory's extras/ploting.py smooth([3, 1, 2, 0.5]): weight = 1.8·(1/(1+e^(−0.2)) − 0.5)
        let weight = 1.8 * (1 / (1 + exp(-0.2)) - 0.5)
        var last = 3.0, expected: [Double] = []
        for v in [3.0, 1, 2, 0.5] { last = last * weight + (1 - weight) * v; expected.append(last) }
        let got = LossPlot.smooth([3, 1, 2, 0.5])
        for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertEqual(got[0], 3, "the first value is kept")
        XCTAssertEqual(LossPlot.smooth([]), [])
    }

    func testStepTicksAreWholeNumbersThatFit() {
        for (lo, hi) in [(1.0, 4.0), (1, 37), (10, 1000), (1, 123_456), (5, 5)] {
            for maxCount in [3, 10, 40] {
                let ticks = LossPlot.ticks(lo, hi, maxCount: maxCount, integer: true)
                XCTAssertLessThanOrEqual(ticks.count, maxCount, "\(lo)...\(hi)")
                XCTAssertFalse(ticks.isEmpty, "\(lo)...\(hi) max \(maxCount)")
                if hi - lo >= 2 && maxCount >= 3 { XCTAssertGreaterThanOrEqual(ticks.count, 2, "\(lo)...\(hi) max \(maxCount): \(ticks)") }
                for t in ticks { XCTAssertEqual(t, t.rounded(), "whole steps only: \(ticks)"); XCTAssertTrue(t >= lo && t <= hi) }
            }
        }
        // labels of the widest tick, two characters apart, fit the 696-pixel axis
        let ticks = LossPlot.ticks(1, 123_456, maxCount: 696 / ((6 + 2) * Canvas.advance), integer: true)
        XCTAssertLessThanOrEqual(ticks.count * 8 * Canvas.advance, 696)
        XCTAssertEqual(LossPlot.decimals(LossPlot.ticks(5.7, 6.4, maxCount: 8, integer: false)), 1)
    }

    func testThePNGIsCompressedAndDecodesToThePixels() throws {
        let points = (1...50).map { ($0, 3 - log(Double($0)) / 2 + Double($0 % 3) * 0.05) }
        let pixels = LossPlot.render(points, title: "training loss")
        let png = try PNGWriter.encode(width: LossPlot.width, height: LossPlot.height, rgb: pixels)
        XCTAssertLessThan(png.count, pixels.count / 20, "compressed: \(png.count) bytes for \(pixels.count) of pixels")
        // IHDR: the size, 8-bit RGB
        XCTAssertEqual(Array(png[16..<24]), [0, 0, 3, 32, 0, 0, 1, 224])
        XCTAssertEqual(Array(png[24..<26]), [8, 2])
        // IDAT inflates to Up-filtered rows that undo to the pixels
        let idatLength = Int(png[33]) << 24 | Int(png[34]) << 16 | Int(png[35]) << 8 | Int(png[36])
        XCTAssertEqual(String(decoding: png[37..<41], as: UTF8.self), "IDAT")
        let compressed = Array(png[41..<(41 + idatLength)])
        let stride = LossPlot.width * 3
        var raw = [UInt8](repeating: 0, count: LossPlot.height * (stride + 1))
        var size = uLong(raw.count)
        XCTAssertEqual(uncompress(&raw, &size, compressed, uLong(compressed.count)), Z_OK)
        var decoded = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<LossPlot.height {
            XCTAssertEqual(raw[y * (stride + 1)], 2, "the Up filter")
            for i in 0..<stride {
                decoded[y * stride + i] = raw[y * (stride + 1) + 1 + i] &+ (y > 0 ? decoded[(y - 1) * stride + i] : 0)
            }
        }
        XCTAssertEqual(decoded, pixels)
        XCTAssertTrue(pixels.contains(31) && pixels.contains(165), "both curves are drawn")
        // a diverged run (nan, inf) still plots what is finite
        XCTAssertEqual(LossPlot.render([(1, 2.0), (2, .nan), (3, .infinity), (4, 1.5)], title: "x").count, pixels.count)
        XCTAssertEqual(LossPlot.render([(1, .nan)], title: "x").count, pixels.count)
    }
}
