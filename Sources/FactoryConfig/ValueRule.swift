/// What a key accepts beyond its type: a numeric interval, a fixed set of words, or numbers in an
/// interval for each item of a list. Declared next to the key in ConfigSchema, checked when the key
/// is set (so before any model is loaded), and printed in docs/configuration.md from the same table.
public enum ValueRule: Sendable, Equatable {
    case interval(Interval)
    case oneOf([String])
    /// Every item of a list is a number in the interval (`interleave_probs`).
    case eachNumber(Interval)
    /// A non-zero integer in the interval (`freeze_trainable_layers`: n > 0 the last n layers, n < 0 the first).
    case nonZero(Interval)

    /// A numeric interval; a nil bound is unbounded, an open bound excludes its value.
    public struct Interval: Sendable, Equatable {
        public var lower: Double?
        public var lowerOpen = false
        public var upper: Double?
        public var upperOpen = false

        public func contains(_ x: Double) -> Bool {
            if let l = lower, lowerOpen ? !(x > l) : !(x >= l) { return false }
            if let u = upper, upperOpen ? !(x < u) : !(x <= u) { return false }
            return true
        }

        /// "> 0", "≥ 1", "in [0, 1]", "in (0, 1]", "in [1, 1048576]".
        public var description: String {
            switch (lower, upper) {
            case (let l?, let u?): return "in \(lowerOpen ? "(" : "[")\(number(l)), \(number(u))\(upperOpen ? ")" : "]")"
            case (let l?, nil): return "\(lowerOpen ? ">" : "≥") \(number(l))"
            case (nil, let u?): return "\(upperOpen ? "<" : "≤") \(number(u))"
            case (nil, nil): return "any number"
            }
        }
    }

    // Builders that read as the rule they make.
    /// x > a
    public static func above(_ a: Double, max: Double? = nil) -> ValueRule { .interval(Interval(lower: a, lowerOpen: true, upper: max)) }
    /// x ≥ a (and ≤ max)
    public static func atLeast(_ a: Double, max: Double? = nil) -> ValueRule { .interval(Interval(lower: a, upper: max)) }
    /// a ≤ x ≤ b
    public static func within(_ a: Double, _ b: Double) -> ValueRule { .interval(Interval(lower: a, upper: b)) }
    /// a ≤ x < b
    public static func from(_ a: Double, below b: Double) -> ValueRule { .interval(Interval(lower: a, upper: b, upperOpen: true)) }
    /// a < x ≤ b
    public static func after(_ a: Double, upTo b: Double) -> ValueRule { .interval(Interval(lower: a, lowerOpen: true, upper: b)) }

    /// What the rule expects, for messages and the documentation: "> 0", "one of no, steps, epoch".
    public var expectation: String {
        switch self {
        case .interval(let i): return i.description
        case .oneOf(let words): return "one of " + words.joined(separator: ", ")
        case .eachNumber(let i): return "numbers " + i.description
        case .nonZero(let i): return "a non-zero integer " + i.description
        }
    }

    /// nil when `value` satisfies the rule, otherwise what is wrong with it ("-1 is out of range").
    public func violation(_ value: ConfigValue) -> String? {
        switch (self, value) {
        case (.interval(let i), .int(let n)): return i.contains(Double(n)) ? nil : "\(n) is out of range"
        case (.interval(let i), .double(let d)): return i.contains(d) ? nil : "\(number(d)) is out of range"
        case (.nonZero(let i), .int(let n)): return n != 0 && i.contains(Double(n)) ? nil : "\(n) is out of range"
        case (.oneOf(let words), .string(let s)): return words.contains(s) ? nil : "'\(s)' is not allowed"
        case (.oneOf(let words), .int(let n)): return words.contains(String(n)) ? nil : "\(n) is not allowed"
        case (.eachNumber(let i), .list(let items)):
            for item in items {
                guard let d = Double(item), d.isFinite else { return "'\(item)' is not a number" }
                if !i.contains(d) { return "\(item) is out of range" }
            }
            return nil
        default: return nil
        }
    }
}

/// 1.0 → "1", 1e-8 → "1e-08", 4294967295 → "4294967295": bounds as a person writes them.
func number(_ d: Double) -> String {
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    return String(d)
}
