// jieba's data, read from the installed PyPI package `jieba` (0.42): its word list (dict.txt: "word
// frequency [tag]" per line) and the hidden Markov model that finds words the list lacks
// (finalseg/prob_start.py, prob_trans.py, prob_emit.py: Python dict literals of log-probabilities).
import Foundation
import FactoryPipeline

/// A problem with jieba's files: one line naming the file and what is wrong.
public struct JiebaError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// jieba's word frequencies as a trie over Unicode scalars (each word's prefixes present with frequency 0,
/// as jieba's FREQ holds them), and its four-state (B, M, E, S) character model.
public final class JiebaDictionary: @unchecked Sendable {
    /// Child of node n by scalar c at key n << 32 | c; node 0 is the root.
    private var children: [UInt64: Int32] = [:]
    private var frequencies: [Int] = [0]
    /// The sum of every line's frequency (duplicates counted twice, as jieba counts them).
    public private(set) var total = 0
    /// log P(first state), log P(next | previous), log P(character | state): states B, M, E, S.
    var start = [Double](repeating: 0, count: 4)
    var transition = [[Double]](repeating: [Double](repeating: JiebaDictionary.minimum, count: 4), count: 4)
    var emission = [[UInt32: Double]](repeating: [:], count: 4)
    /// jieba's MIN_FLOAT: the log-probability of what the model never saw.
    static let minimum = -3.14e100
    static let states: [Character] = ["B", "M", "E", "S"]

    /// The dictionary of the `jieba` package pip installed (found as Factory finds pip-shipped models).
    public static func installed() throws -> JiebaDictionary {
        let location = try PipPackage.location(of: "jieba", hint: "jieba's dictionary (ROUGE over jieba's words, as LLaMA-Factory scores predictions) "
                                                + "comes from the PyPI package jieba: install it with `pip install jieba`")
        return try JiebaDictionary(directory: location + "/jieba")
    }

    /// Reads `directory`/dict.txt and `directory`/finalseg/prob_{start,trans,emit}.py.
    public init(directory: String) throws {
        let dictPath = directory + "/dict.txt"
        guard let data = FileManager.default.contents(atPath: dictPath) else { throw JiebaError("\(dictPath): cannot read jieba's word list") }
        try readWords(data, path: dictPath)
        let startFile = try Self.pythonDict(directory + "/finalseg/prob_start.py")
        let transitionFile = try Self.pythonDict(directory + "/finalseg/prob_trans.py")
        let emissionFile = try Self.pythonDict(directory + "/finalseg/prob_emit.py")
        for (s, state) in Self.states.enumerated() {
            let key = String(state)
            guard let p = startFile[key]?.number else { throw JiebaError("\(directory)/finalseg/prob_start.py: no probability for state \(key)") }
            self.start[s] = p
            for (t, next) in Self.states.enumerated() {
                if let p = transitionFile[key]?.table?[String(next)]?.number { self.transition[s][t] = p }
            }
            guard let table = emissionFile[key]?.table else { throw JiebaError("\(directory)/finalseg/prob_emit.py: no table for state \(key)") }
            for (character, value) in table {
                guard let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1, let p = value.number else {
                    throw JiebaError("\(directory)/finalseg/prob_emit.py: state \(key): '\(character)' is not one character with a number")
                }
                self.emission[s][scalar.value] = p
            }
        }
    }

    private func readWords(_ data: Data, path: String) throws {
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            if index == lines.count - 1 && line.isEmpty { continue }  // after the final newline
            let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }  // bytes.strip()
            let text = String(decoding: line.drop(while: isSpace).reversed().drop(while: isSpace).reversed(), as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 2, let frequency = Int(fields[1]), !fields[0].isEmpty else {
                throw JiebaError("\(path): line \(lineNumber): not \"word frequency [tag]\": \(text.prefix(60))")
            }
            total += frequency
            var node = 0
            for scalar in fields[0].unicodeScalars {
                let key = UInt64(node) << 32 | UInt64(scalar.value)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    frequencies.append(0)
                    node = frequencies.count - 1
                    children[key] = Int32(node)
                }
            }
            frequencies[node] = frequency
        }
    }

    /// The node of `word`'s prefix after scalar `c` from `node` (nil: no word starts so).
    @inline(__always) func child(_ node: Int, _ c: Unicode.Scalar) -> Int? {
        children[UInt64(node) << 32 | UInt64(c.value)].map(Int.init)
    }

    /// The frequency at a node (0 for a prefix that is no word).
    @inline(__always) func frequency(_ node: Int) -> Int { frequencies[node] }

    /// jieba's FREQ.get(word) or 0.
    func frequency(of word: ArraySlice<Unicode.Scalar>) -> Int {
        var node = 0
        for c in word {
            guard let next = child(node, c) else { return 0 }
            node = next
        }
        return frequencies[node]
    }

    // MARK: the model's Python dict literals

    enum Literal {
        case number(Double), dict([String: Literal])
        var number: Double? { if case .number(let v) = self { return v } else { return nil } }
        var table: [String: Literal]? { if case .dict(let d) = self { return d } else { return nil } }
    }

    /// The `P={...}` of a finalseg module: a dict of strings to numbers or to such dicts.
    static func pythonDict(_ path: String) throws -> [String: Literal] {
        guard let data = FileManager.default.contents(atPath: path) else { throw JiebaError("\(path): cannot read jieba's model") }
        let text = Array(String(decoding: data, as: UTF8.self).unicodeScalars)
        guard let start = text.indices.first(where: { $0 + 2 < text.count && text[$0] == "P" && text[$0 + 1] == "=" }) else {
            throw JiebaError("\(path): no `P={...}`")
        }
        var reader = LiteralReader(text: text, at: start + 2, path: path)
        guard case .dict(let dict) = try reader.value() else { throw JiebaError("\(path): P is not a dict") }
        return dict
    }

    struct LiteralReader {
        let text: [Unicode.Scalar]
        var at: Int
        let path: String

        mutating func skipSpace() { while at < text.count, PythonArithmetic.isSpace(text[at]) { at += 1 } }

        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpace()
            guard at < text.count, text[at] == c else { throw JiebaError("\(path): expected '\(c)' at character \(at)") }
            at += 1
        }

        mutating func value() throws -> Literal {
            skipSpace()
            guard at < text.count else { throw JiebaError("\(path): ends early") }
            if text[at] == "{" {
                at += 1
                var dict: [String: Literal] = [:]
                while true {
                    skipSpace()
                    if at < text.count, text[at] == "}" { at += 1; return .dict(dict) }
                    let key = try string()
                    try expect(":")
                    dict[key] = try value()
                    skipSpace()
                    if at < text.count, text[at] == "," { at += 1 }
                }
            }
            let begin = at
            while at < text.count, "0123456789+-.eE".unicodeScalars.contains(text[at]) { at += 1 }
            guard let number = Double(String(String.UnicodeScalarView(text[begin..<at]))) else {
                throw JiebaError("\(path): not a number at character \(begin)")
            }
            return .number(number)
        }

        /// A quoted string with Python's \uXXXX and \\ escapes.
        mutating func string() throws -> String {
            skipSpace()
            guard at < text.count, text[at] == "'" || text[at] == "\"" else { throw JiebaError("\(path): expected a string at character \(at)") }
            let quote = text[at]
            at += 1
            var out = String.UnicodeScalarView()
            while at < text.count, text[at] != quote {
                if text[at] == "\\", at + 1 < text.count {
                    if text[at + 1] == "u", at + 6 <= text.count, let v = UInt32(String(String.UnicodeScalarView(text[(at + 2)..<(at + 6)])), radix: 16),
                       let scalar = Unicode.Scalar(v) {
                        out.append(scalar)
                        at += 6
                        continue
                    }
                    out.append(text[at + 1])
                    at += 2
                    continue
                }
                out.append(text[at])
                at += 1
            }
            guard at < text.count else { throw JiebaError("\(path): unterminated string") }
            at += 1
            return String(out)
        }
    }
}
