// training_loss.png (plot_loss: true): the loss per step as a line, with axes, ticks and tick
// labels drawn with a 3×5 pixel font, on a white 800×480 canvas.
import FactoryFormats
import Foundation

enum LossPlot {
    static let width = 800, height = 480
    static let left = 80, right = 24, top = 24, bottom = 56

    static func write(_ points: [(Int, Double)], to path: String) throws {
        try AtomicFile.write(PNGWriter.encode(width: width, height: height, rgb: render(points)), to: path)
    }

    static func render(_ points: [(Int, Double)]) -> [UInt8] {
        var canvas = Canvas(width: width, height: height)
        let x0 = left, x1 = width - right, y0 = height - bottom, y1 = top
        let steps = points.map(\.0), losses = points.map(\.1)
        let sMin = Double(steps.min() ?? 0), sMax = Double(max(steps.max() ?? 1, (steps.min() ?? 0) + 1))
        var lMin = losses.min() ?? 0, lMax = losses.max() ?? 1
        if lMax - lMin < 1e-9 { lMin -= 0.5; lMax += 0.5 }
        func px(_ s: Double) -> Int { x0 + Int((s - sMin) / (sMax - sMin) * Double(x1 - x0)) }
        func py(_ l: Double) -> Int { y0 - Int((l - lMin) / (lMax - lMin) * Double(y0 - y1)) }
        // grid and ticks
        for i in 0...4 {
            let l = lMin + (lMax - lMin) * Double(i) / 4, y = py(l)
            canvas.line(x0, y, x1, y, (230, 230, 230))
            canvas.line(x0 - 6, y, x0, y, (0, 0, 0))
            canvas.text(String(format: "%.3f", l), right: x0 - 10, y: y - 5)
            let s = sMin + (sMax - sMin) * Double(i) / 4, x = px(s)
            canvas.line(x, y0, x, y0 + 6, (0, 0, 0))
            canvas.text(String(Int(s.rounded())), centre: x, y: y0 + 12)
        }
        canvas.line(x0, y0, x1, y0, (0, 0, 0))
        canvas.line(x0, y0, x0, y1, (0, 0, 0))
        canvas.text("step", centre: (x0 + x1) / 2, y: height - 22)
        canvas.text("loss", centre: 30, y: top)
        for (a, b) in zip(points, points.dropFirst()) {
            canvas.line(px(Double(a.0)), py(a.1), px(Double(b.0)), py(b.1), (31, 119, 180))
        }
        if points.count == 1 { canvas.line(px(Double(points[0].0)) - 2, py(points[0].1), px(Double(points[0].0)) + 2, py(points[0].1), (31, 119, 180)) }
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
        ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0], "s": [3, 4, 2, 1, 6], "t": [2, 7, 2, 2, 3], "e": [7, 4, 7, 4, 7],
        "p": [7, 5, 7, 4, 4], "l": [4, 4, 4, 4, 7], "o": [0, 7, 5, 5, 7],
    ]

    /// Text at scale 2 (8 px per character), its left edge at x.
    mutating func text(_ s: String, x: Int, y: Int) {
        for (i, ch) in s.enumerated() {
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
