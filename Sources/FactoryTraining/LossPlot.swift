// training_loss.png and training_eval_loss.png (plot_loss: true), as LLaMA-Factory's plot_loss draws
// them: the logged values (light) and their smoothed curve (LLaMA-Factory's exponential moving average),
// a legend, axes with integer step ticks and loss ticks spaced so that no labels overlap, on a white
// 800×480 canvas, drawn with a 3×5 pixel font.
import FactoryFormats
import FactoryJSON
import Foundation

enum LossPlot {
    static let width = 800, height = 480
    static let left = 80, right = 24, top = 40, bottom = 56
    static let raw: (UInt8, UInt8, UInt8) = (165, 201, 225), smoothed: (UInt8, UInt8, UInt8) = (31, 119, 180)

    /// training_loss.png from the logged losses, and training_eval_loss.png when the run evaluated (LLaMA-Factory's
    /// keys "loss" and "eval_loss"), from the records of trainer_log.jsonl.
    static func writeAll(_ records: [JSON], into directory: String) throws {
        for (key, file) in [("loss", "training_loss.png"), ("eval_loss", "training_eval_loss.png")] {
            let points = records.compactMap { r -> (Int, Double)? in
                guard let step = r["current_steps"]?.intValue, let v = r[key]?.doubleValue else { return nil }
                return (Int(step), v)
            }
            if !points.isEmpty { try write(points, title: "training \(key.replacingOccurrences(of: "_", with: " "))", to: directory + "/" + file) }
        }
    }

    static func write(_ points: [(Int, Double)], title: String, to path: String) throws {
        try AtomicFile.write(try PNGWriter.encode(width: width, height: height, rgb: render(points, title: title)), to: path)
    }

    /// LLaMA-Factory's smooth(): an exponential moving average whose weight 1.8·(σ(0.05·n) − ½) grows with the count.
    static func smooth(_ values: [Double]) -> [Double] {
        guard var last = values.first else { return [] }
        let weight = 1.8 * (1 / (1 + exp(-0.05 * Double(values.count))) - 0.5)
        return values.map { v in
            last = last * weight + (1 - weight) * v
            return last
        }
    }

    /// Tick values from `lo` to `hi`: multiples of the smallest spacing 1, 2 or 5 × 10^k that gives at most
    /// `maxCount` of them; whole numbers when `integer`.
    static func ticks(_ lo: Double, _ hi: Double, maxCount: Int, integer: Bool) -> [Double] {
        guard lo.isFinite, hi.isFinite, lo <= hi else { return [] }
        let span = max(hi - lo, 1e-12), limit = max(1, maxCount)
        func values(_ spacing: Double) -> [Double] {
            let first = (lo / spacing - 1e-9).rounded(.up), last = (hi / spacing + 1e-9).rounded(.down)
            return first > last ? [] : (Int(first)...Int(last)).map { Double($0) * spacing }
        }
        var exponent = floor(log10(span / Double(limit))) - 1
        while true {
            for m in [1.0, 2, 5] {
                let spacing = m * pow(10, exponent)
                if integer && spacing < 1 { continue }
                if (span / spacing) > Double(limit) + 1 { continue }  // too many, without building them
                let v = values(spacing)
                if v.count <= limit { return v.isEmpty ? [integer ? lo.rounded() : lo] : v }
            }
            exponent += 1
        }
    }

    /// Digits after the point that tell `ticks` apart.
    static func decimals(_ ticks: [Double]) -> Int {
        guard ticks.count > 1 else { return 3 }
        let spacing = ticks[1] - ticks[0]
        return max(0, min(6, Int((-log10(spacing) - 1e-9).rounded(.up))))
    }

    /// The plot's pixels; a non-finite value (a diverged run) is left out rather than drawn.
    static func render(_ all: [(Int, Double)], title: String) -> [UInt8] {
        let points = all.filter { $0.1.isFinite }
        var canvas = Canvas(width: width, height: height)
        let x0 = left, x1 = width - right, y0 = height - bottom, y1 = top
        let steps = points.map(\.0), values = points.map(\.1), smoothedValues = smooth(values)
        let sMin = Double(steps.min() ?? 0), sMax = Double(max(steps.max() ?? 1, (steps.min() ?? 0) + 1))
        var lMin = min(values.min() ?? 0, smoothedValues.min() ?? 0), lMax = max(values.max() ?? 1, smoothedValues.max() ?? 1)
        if lMax - lMin < 1e-9 { lMin -= 0.5; lMax += 0.5 }
        (lMin, lMax) = (lMin - (lMax - lMin) * 0.04, lMax + (lMax - lMin) * 0.04)  // the curve clear of the axes
        func px(_ s: Double) -> Int { x0 + Int((s - sMin) / (sMax - sMin) * Double(x1 - x0)) }
        func py(_ l: Double) -> Int { y0 - Int((l - lMin) / (lMax - lMin) * Double(y0 - y1)) }
        // step ticks: whole numbers, as many as fit with a gap of two characters between labels
        let stepLabel = String(Int(sMax)).count * Canvas.advance + 2 * Canvas.advance
        for s in ticks(sMin, sMax, maxCount: max(1, (x1 - x0) / stepLabel), integer: true) {
            let x = px(s)
            canvas.line(x, y0, x, y0 + 6, (0, 0, 0))
            canvas.text(String(Int(s)), centre: x, y: y0 + 12)
        }
        // loss ticks: 12 px of text each plus a gap
        let lossTicks = ticks(lMin, lMax, maxCount: max(1, (y0 - y1) / 28), integer: false), places = decimals(lossTicks)
        for l in lossTicks {
            let y = py(l)
            canvas.line(x0, y, x1, y, (230, 230, 230))
            canvas.line(x0 - 6, y, x0, y, (0, 0, 0))
            canvas.text(String(format: "%.\(places)f", l), right: x0 - 10, y: y - 5)
        }
        canvas.line(x0, y0, x1, y0, (0, 0, 0))
        canvas.line(x0, y0, x0, y1, (0, 0, 0))
        canvas.text("step", centre: (x0 + x1) / 2, y: height - 22)
        canvas.text("loss", centre: 30, y: top - 24)
        canvas.text(title, centre: (x0 + x1) / 2, y: 10)
        for (series, colour) in [(values, raw), (smoothedValues, smoothed)] where !series.isEmpty {
            for i in 1..<max(1, series.count) {
                canvas.line(px(Double(steps[i - 1])), py(series[i - 1]), px(Double(steps[i])), py(series[i]), colour)
            }
            if series.count == 1 { canvas.line(px(Double(steps[0])) - 2, py(series[0]), px(Double(steps[0])) + 2, py(series[0]), colour) }
        }
        // legend, top right
        for (i, (label, colour)) in [("original", raw), ("smoothed", smoothed)].enumerated() {
            let y = y1 + 12 + i * 18, x = x1 - 8 * Canvas.advance - 40
            canvas.line(x, y + 4, x + 24, y + 4, colour)
            canvas.text(label, x: x + 32, y: y)
        }
        return canvas.pixels
    }
}

/// RGB pixels with lines (Bresenham, 2 px wide) and a tiny bitmap font.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    mutating func line(_ xa: Int, _ ya: Int, _ xb: Int, _ yb: Int, _ c: (UInt8, UInt8, UInt8)) {
        var x = xa, y = ya
        let dx = abs(xb - xa), dy = -abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1
        var e = dx + dy
        while true {
            set(x, y, c); set(x, y + 1, c)
            if x == xb && y == yb { break }
            let e2 = 2 * e
            if e2 >= dy { e += dy; x += sx }
            if e2 <= dx { e += dx; y += sy }
        }
    }

    static let glyphs: [Character: [UInt8]] = [  // 5 rows of 3 bits
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0], "_": [0, 0, 0, 0, 7], "/": [1, 1, 2, 4, 4], ":": [0, 2, 0, 2, 0],
        "a": [0, 6, 1, 7, 7], "b": [4, 4, 7, 5, 7], "c": [0, 7, 4, 4, 7], "d": [1, 1, 7, 5, 7], "e": [7, 5, 7, 4, 7],
        "f": [3, 4, 6, 4, 4], "g": [7, 5, 7, 1, 6], "h": [4, 4, 7, 5, 5], "i": [2, 0, 2, 2, 2], "j": [1, 0, 1, 5, 7],
        "k": [4, 5, 6, 5, 5], "l": [4, 4, 4, 4, 7], "m": [0, 7, 7, 5, 5], "n": [0, 6, 5, 5, 5], "o": [0, 7, 5, 5, 7],
        "p": [7, 5, 7, 4, 4], "q": [7, 5, 7, 1, 1], "r": [0, 7, 4, 4, 4], "s": [3, 4, 2, 1, 6], "t": [2, 7, 2, 2, 3],
        "u": [0, 5, 5, 5, 7], "v": [0, 5, 5, 5, 2], "w": [0, 5, 5, 7, 7], "x": [0, 5, 2, 2, 5], "y": [5, 5, 7, 1, 6],
        "z": [0, 7, 1, 4, 7],
    ]
    /// Pixels from one character's left edge to the next's.
    static let advance = 8

    /// Text at scale 2 (8 px per character), its left edge at x; capitals print as lowercase, other characters as blanks.
    mutating func text(_ s: String, x: Int, y: Int) {
        for (i, ch) in s.lowercased().enumerated() {
            guard let rows = Canvas.glyphs[ch] else { continue }
            for (r, bits) in rows.enumerated() {
                for b in 0..<3 where bits & (4 >> b) != 0 {
                    for dy in 0..<2 { for dx in 0..<2 { set(x + i * 8 + b * 2 + dx, y + r * 2 + dy, (0, 0, 0)) } }
                }
            }
        }
    }

    mutating func text(_ s: String, right: Int, y: Int) { text(s, x: right - s.count * 8, y: y) }
    mutating func text(_ s: String, centre: Int, y: Int) { text(s, x: centre - s.count * 4, y: y) }
}
