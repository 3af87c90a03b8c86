// The few Python and numpy number rules LLaMA-Factory's metrics depend on, reproduced to the last bit:
// math.fsum, round(x, ndigits), numpy's mean (pairwise summation), and what str.isspace calls space.
import Foundation

enum PythonArithmetic {
    /// `math.fsum`: the correctly rounded sum (Shewchuk's partials, then CPython's half-even correction).
    static func fsum(_ values: [Double]) -> Double {
        var partials: [Double] = []
        for value in values {
            var x = value
            var kept = 0
            for j in 0..<partials.count {
                var y = partials[j]
                if abs(x) < abs(y) { swap(&x, &y) }
                let high = x + y
                let low = y - (high - x)
                if low != 0 {
                    partials[kept] = low
                    kept += 1
                }
                x = high
            }
            partials.removeSubrange(kept...)
            partials.append(x)
        }
        guard var n = partials.indices.last else { return 0 }
        var high = partials[n], low = 0.0
        while n > 0 {
            let x = high
            n -= 1
            let y = partials[n]
            high = x + y
            low = y - (high - x)
            if low != 0 { break }
        }
        if n > 0, (low < 0 && partials[n - 1] < 0) || (low > 0 && partials[n - 1] > 0) {
            let y = low * 2, x = high + y
            if y == x - high { high = x }
        }
        return high
    }

    /// `round(x, digits)`: the exact binary value rounded half-even to `digits` decimals, read back —
    /// what CPython does through its correctly rounded dtoa, here through glibc's exact printf and strtod.
    static func round(_ x: Double, digits: Int) -> Double {
        guard x.isFinite else { return x }
        var buffer = [CChar](repeating: 0, count: 400)
        let count = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
        guard count > 0, count < buffer.count else { return x }
        return strtod(buffer, nil)
    }

    /// `float(np.mean(values))` for float64: numpy's add.reduce (its identity 0 plus the pairwise sum, unrolled
    /// by 8 in blocks of 128) divided by the count.
    static func numpyMean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return values.withUnsafeBufferPointer { (0 + pairwiseSum($0.baseAddress!, $0.count)) / Double(values.count) }
    }

    private static func pairwiseSum(_ a: UnsafePointer<Double>, _ n: Int) -> Double {
        if n < 8 {
            var sum = -0.0
            for i in 0..<n { sum += a[i] }
            return sum
        }
        if n <= 128 {
            var r = (0..<8).map { a[$0] }
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                sum += a[i]
                i += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(a, half) + pairwiseSum(a + half, n - half)
    }

    /// `str.isspace()` of one character (CPython's _PyUnicode_IsWhitespace), which `str.split()`,
    /// `str.strip()` and the regular expression `\s` use.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `text.split()`: the runs between whitespace, none empty.
    static func splitOnSpace(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = [], word: [Unicode.Scalar] = []
        for c in text {
            if isSpace(c) {
                if !word.isEmpty { words.append(word); word = [] }
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }
}
