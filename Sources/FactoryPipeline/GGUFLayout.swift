// How a model family's parameters are laid out in a GGUF file (its describe key `gguf_write`), in both
// directions: a Hugging Face parameter → llama.cpp's tensor name and row order (GGUF export, a LoRA
// adapter written for llama.cpp), and back (a llama.cpp LoRA adapter read by Factory). The rules:
//   as_is         the same values;
//   permute_rows  q and k projections: GGUF row (h, 2i + j) holds Hugging Face row (h, j·D/2 + i)
//                 (llama.cpp's per-head rotary order; D = head_dim);
//   plus_one      Gemma's norms, stored as 1 + w.
import FactoryJSON

/// A model family's `gguf_write` rules, by parameter name and by GGUF tensor name.
public struct GGUFLayout {
    /// One parameter's GGUF name and how its values are laid out there.
    public struct Rule {
        public enum Kind { case asIs, plusOne, permuteRows(heads: Int, headDim: Int) }
        public let parameter: String
        public let gguf: String
        public let kind: Kind
    }

    public let rules: [Rule]
    public let byParameter: [String: Rule]
    public let byGGUF: [String: Rule]
    /// llama.cpp's architecture name (general.architecture) of what is written: a GGUF model's own, else
    /// the family's `gguf_architecture`; nil when neither says.
    public let architecture: String?

    /// The rules of `model`'s family; nil when it declares none.
    public init?(of model: LoadedModel) throws {
        try self.init(description: model.description, family: model.family.component.name,
                      architecture: model.location.format == .gguf ? model.location.architecture : nil)
    }

    /// The rules `description` declares; nil when the family declares none (its models are not written as GGUF).
    public init?(description: JSON, family: String, architecture: String? = nil) throws {
        guard let entries = description["gguf_write"]?.arrayValue else { return nil }
        self.architecture = architecture ?? description["gguf_architecture"]?.stringValue
        rules = try entries.map { entry in
            guard let name = entry["name"]?.stringValue, let gguf = entry["gguf"]?.stringValue else {
                throw GGUFLayoutError("\(family): a gguf_write entry without name or gguf")
            }
            switch entry["rule"]?.stringValue {
            case "as_is": return Rule(parameter: name, gguf: gguf, kind: .asIs)
            case "plus_one": return Rule(parameter: name, gguf: gguf, kind: .plusOne)
            case "permute_rows":
                guard let heads = entry["heads"]?.intValue.map(Int.init), let d = entry["head_dim"]?.intValue.map(Int.init), heads > 0, d > 0, d % 2 == 0 else {
                    throw GGUFLayoutError("\(family): gguf_write '\(name)': permute_rows needs heads and an even head_dim")
                }
                return Rule(parameter: name, gguf: gguf, kind: .permuteRows(heads: heads, headDim: d))
            case let other: throw GGUFLayoutError("\(family): gguf_write '\(name)': unknown rule '\(other ?? "none")'")
            }
        }
        byParameter = Dictionary(rules.map { ($0.parameter, $0) }, uniquingKeysWith: { a, _ in a })
        byGGUF = Dictionary(rules.map { ($0.gguf, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// `values` (row-major, `rows` × `columns`; a vector is one row) in llama.cpp's layout.
    public static func toGGUF(_ values: [Float], rows: Int, columns: Int, _ rule: Rule) throws -> [Float] {
        switch rule.kind {
        case .asIs: return values
        case .plusOne: return values.map { $0 + 1 }
        case .permuteRows(let heads, let d): return try permuted(values, rows: rows, columns: columns, heads: heads, headDim: d, rule, toGGUF: true)
        }
    }

    /// `values` read from a GGUF (llama.cpp's layout) in the Hugging Face layout: the inverse of `toGGUF`.
    public static func fromGGUF(_ values: [Float], rows: Int, columns: Int, _ rule: Rule) throws -> [Float] {
        switch rule.kind {
        case .asIs: return values
        case .plusOne: return values.map { $0 - 1 }
        case .permuteRows(let heads, let d): return try permuted(values, rows: rows, columns: columns, heads: heads, headDim: d, rule, toGGUF: false)
        }
    }

    /// The q/k row permutation (or its inverse) of a [heads · headDim, columns] matrix — a weight, or a LoRA
    /// B whose rows are the weight's output rows.
    static func permuted(_ values: [Float], rows: Int, columns: Int, heads: Int, headDim d: Int, _ rule: Rule, toGGUF: Bool) throws -> [Float] {
        guard rows == heads * d, values.count == rows * columns else {
            throw GGUFLayoutError("\(rule.gguf): a permute_rows rule for \(heads) heads of \(d) does not fit a [\(rows), \(columns)] matrix")
        }
        var out = [Float](repeating: 0, count: values.count)
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                for j in 0..<2 {  // GGUF row (h, 2i + j) ↔ Hugging Face row (h, j·D/2 + i)
                    let gguf = (h * d + 2 * i + j) * columns, hf = (h * d + j * (d / 2) + i) * columns
                    let (to, from) = toGGUF ? (gguf, hf) : (hf, gguf)
                    for c in 0..<columns { out[to + c] = values[from + c] }
                }
            }
        }
        return out
    }
}

/// A gguf_write rule that cannot be applied: one line naming the family or tensor.
public struct GGUFLayoutError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
