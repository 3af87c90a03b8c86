import CJSONC
#if canImport(Glibc)
import Glibc
#endif

/// A JSON text that could not be parsed: what json-c said and where.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    /// 1-based line and column of the failure.
    public let line: Int
    public let column: Int
    /// json-c's description of the problem.
    public let reason: String
    /// For text that is not UTF-8 (RFC 8259 requires it): the first bad byte's offset in the input,
    /// and the path of the string holding it ("[3].conversations[1].value"; "" for the top level).
    public var invalidUTF8: (offset: Int, path: String)? = nil

    public init(line: Int, column: Int, reason: String) { (self.line, self.column, self.reason) = (line, column, reason) }

    public var description: String { "line \(line), column \(column): \(reason)" }
}

extension JSON {
    /// Parses one JSON value from UTF-8 bytes with json-c. Anything but
    /// whitespace after the value is an error.
    public static func parse(bytes: UnsafeRawBufferPointer) throws -> JSON {
        guard let tokener = json_tokener_new() else {
            throw JSONParseError(line: 1, column: 1, reason: "out of memory")
        }
        defer { json_tokener_free(tokener) }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else {
            throw JSONParseError(line: 1, column: 1, reason: "empty input")
        }
        let length = bytes.count
        guard length < Int(Int32.max) else { throw JSONParseError(line: 1, column: 1, reason: "input larger than 2 GiB") }
        let root = json_tokener_parse_ex(tokener, base, Int32(length))
        let error = json_tokener_get_error(tokener)
        let end = Int(json_tokener_get_parse_end(tokener))
        if error != json_tokener_success || root == nil {
            let reason = error == json_tokener_continue
                ? "unexpected end of input" : String(cString: json_tokener_error_desc(error))
            throw makeError(bytes, offset: error == json_tokener_continue ? length : max(0, end - 1), reason)
        }
        defer { json_object_put(root) }
        var i = end
        while i < length, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        if i < length {
            throw makeError(bytes, offset: i, "unexpected text after the JSON value")
        }
        // json-c takes any bytes inside strings; a string must not silently become U+FFFD
        if let bad = UTF8Validation.firstInvalidByte(bytes) {
            let path = invalidStringPath(root) ?? ""
            var error = makeError(bytes, offset: bad, "not valid UTF-8" + (path.isEmpty ? "" : " in \(path)") + " (byte offset \(bad))")
            error.invalidUTF8 = (bad, path)
            throw error
        }
        return convert(root)
    }

    /// The path of the first string or key (in document order) that is not UTF-8.
    private static func invalidStringPath(_ object: OpaquePointer?) -> String? {
        guard let object else { return nil }
        switch json_object_get_type(object) {
        case json_type_string:
            guard let p = json_object_get_string(object) else { return nil }
            let count = Int(json_object_get_string_len(object))
            return UTF8Validation.firstInvalidByte(UnsafeRawBufferPointer(start: p, count: count)) == nil ? nil : ""
        case json_type_array:
            for i in 0..<json_object_array_length(object) {
                if let inner = invalidStringPath(json_object_array_get_idx(object, i)) { return "[\(i)]" + inner }
            }
            return nil
        case json_type_object:
            var it = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&it, &end) == 0 {
                let name = json_object_iter_peek_name(&it)!
                let raw = UnsafeRawBufferPointer(start: name, count: strlen(name))
                let key = String(decoding: raw, as: UTF8.self)
                if UTF8Validation.firstInvalidByte(raw) != nil { return (key.isEmpty ? "" : ".") + key }
                if let inner = invalidStringPath(json_object_iter_peek_value(&it)) { return "." + key + inner }
                json_object_iter_next(&it)
            }
            return nil
        default:
            return nil
        }
    }

    /// Parses one JSON value from a byte array.
    public static func parse(bytes: [UInt8]) throws -> JSON {
        try bytes.withUnsafeBytes { try parse(bytes: $0) }
    }

    /// Parses one JSON value from a string.
    public static func parse(_ text: String) throws -> JSON {
        var copy = text
        return try copy.withUTF8 { buffer in
            try parse(bytes: UnsafeRawBufferPointer(buffer))
        }
    }

    private static func makeError(_ bytes: UnsafeRawBufferPointer, offset: Int, _ reason: String) -> JSONParseError {
        var line = 1
        var column = 1
        for i in 0..<min(offset, bytes.count) {
            if bytes[i] == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return JSONParseError(line: line, column: column, reason: reason)
    }

    private static func convert(_ object: OpaquePointer?) -> JSON {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .int(json_object_get_int64(object))
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_string:
            let count = Int(json_object_get_string_len(object))
            guard let p = json_object_get_string(object) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: p, count: count)
            return .string(String(decoding: buffer, as: UTF8.self))
        case json_type_array:
            let n = json_object_array_length(object)
            var items: [JSON] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(convert(json_object_array_get_idx(object, i))) }
            return .array(items)
        case json_type_object:
            var result = JSONObject()
            var it = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&it, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&it))
                result[key] = convert(json_object_iter_peek_value(&it))
                json_object_iter_next(&it)
            }
            return .object(result)
        default:
            return .null
        }
    }
}
