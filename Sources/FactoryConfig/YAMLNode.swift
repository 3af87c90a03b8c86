import CYAML
#if canImport(Glibc)
import Glibc
#endif

/// A YAML document as a tree, read with libyaml (Debian's libyaml-dev).
/// Every node remembers its 1-based line for error messages.
public indirect enum YAMLNode: Equatable {
    /// A scalar; `plain` is false for quoted and block scalars (which are never numbers, booleans or null).
    case scalar(String, plain: Bool, line: Int)
    case sequence([YAMLNode], line: Int)
    /// A mapping with scalar keys, in document order.
    case mapping([YAMLEntry], line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, _, let l), .sequence(_, let l), .mapping(_, let l): return l
        }
    }

    /// True for `null`, `~` and an empty plain scalar.
    public var isNull: Bool {
        if case .scalar(let s, true, _) = self { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }
}

/// One `key: value` pair of a mapping.
public struct YAMLEntry: Equatable {
    public let key: String
    public let line: Int
    public let value: YAMLNode
}

/// A YAML text that libyaml refused, or a shape Factory does not accept.
public struct YAMLError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let line: Int
    public let message: String
    public var description: String { "\(source):\(line): \(message)" }
}

public enum YAMLReader {
    /// Parses the file at `path`; `source` names it in errors (defaults to the path).
    public static func read(file path: String) throws -> YAMLNode? {
        guard let f = fopen(path, "rb") else {
            throw YAMLError(source: path, line: 0, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        return try parse(source: path) { parser in yaml_parser_set_input_file(parser, f) }
    }

    /// Parses `text`; `source` names it in errors.
    public static func read(text: String, source: String) throws -> YAMLNode? {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer in
            try parse(source: source) { parser in yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count) }
        }
    }

    private static func parse(source: String, setInput: (UnsafeMutablePointer<yaml_parser_t>) -> Void) throws -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else { throw YAMLError(source: source, line: 0, message: "libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        setInput(&parser)
        var document = yaml_document_t()
        guard yaml_parser_load(&parser, &document) != 0 else {
            let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
            let context = parser.context.map { String(cString: $0) + ": " } ?? ""
            throw YAMLError(source: source, line: Int(parser.problem_mark.line) + 1,
                            message: "malformed YAML: \(context)\(problem) (column \(parser.problem_mark.column + 1))")
        }
        defer { yaml_document_delete(&document) }
        guard let root = yaml_document_get_root_node(&document) else { return nil }
        var budget = nodeBudget
        return try convert(root, in: &document, source: source, depth: 0, budget: &budget)
    }

    /// Values a document may expand to. libyaml keeps an alias as a reference to its anchor, so
    /// the tree is built by walking it: a "billion laughs" file (aliases of aliases) would expand
    /// exponentially. No config comes near this; past it the file is refused in one line.
    static let nodeBudget = 100_000

    private static func convert(_ node: UnsafeMutablePointer<yaml_node_t>, in doc: inout yaml_document_t, source: String, depth: Int,
                                budget: inout Int) throws -> YAMLNode {
        let line = Int(node.pointee.start_mark.line) + 1
        guard depth < 64 else { throw YAMLError(source: source, line: line, message: "nesting deeper than 64 levels") }
        budget -= 1
        guard budget >= 0 else {
            throw YAMLError(source: source, line: line, message: "more than \(nodeBudget) values once aliases are expanded (aliases of aliases?)")
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let s = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            return .scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE, line: line)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let p = item, p != node.pointee.data.sequence.items.top {
                guard let child = yaml_document_get_node(&doc, p.pointee) else { break }
                items.append(try convert(child, in: &doc, source: source, depth: depth + 1, budget: &budget))
                item = p + 1
            }
            return .sequence(items, line: line)
        case YAML_MAPPING_NODE:
            var entries: [YAMLEntry] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let p = pair, p != node.pointee.data.mapping.pairs.top {
                guard let k = yaml_document_get_node(&doc, p.pointee.key), let v = yaml_document_get_node(&doc, p.pointee.value) else { break }
                let key = try convert(k, in: &doc, source: source, depth: depth + 1, budget: &budget)
                guard case .scalar(let name, _, let keyLine) = key else {
                    throw YAMLError(source: source, line: key.line, message: "a mapping key must be a plain name")
                }
                if let earlier = entries.first(where: { $0.key == name }) {
                    throw YAMLError(source: source, line: keyLine, message: "duplicate key '\(name)' (first on line \(earlier.line))")
                }
                entries.append(YAMLEntry(key: name, line: keyLine, value: try convert(v, in: &doc, source: source, depth: depth + 1, budget: &budget)))
                pair = p + 1
            }
            return .mapping(entries, line: line)
        default:
            return .scalar("", plain: true, line: line)
        }
    }
}
