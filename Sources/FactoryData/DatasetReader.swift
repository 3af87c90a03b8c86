import FactoryJSON
#if canImport(Glibc)
import Glibc
#endif

/// The whole file, or nil when it cannot be read.
func readBytes(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return bytes
}

/// Reads dataset files (json: a list of objects; jsonl: one object per line; csv with a header
/// row) into rows, parsed with json-c. Each row keeps its 1-based position for messages.
public enum DatasetReader {
    public struct Row {
        public let object: JSONObject
        /// "file:row".
        public let origin: String
    }

    public static func read(_ path: String) throws -> [Row] {
        guard let bytes = readBytes(path) else { throw DataError("\(path): cannot be read") }
        if path.hasSuffix(".jsonl") { return try jsonLines(bytes, path) }
        if path.hasSuffix(".csv") { return try csv(bytes, path) }
        let json: JSON
        do { json = try JSON.parse(bytes: bytes) } catch { throw DataError("\(path): not valid JSON: \(error)") }
        guard let items = json.arrayValue else { throw DataError("\(path): a .json dataset must be a list of rows") }
        return try items.enumerated().map { i, item in
            guard let o = item.objectValue else { throw DataError("\(path):\(i + 1): a row must be an object, got \(item.kindDescription)") }
            return Row(object: o, origin: "\(path):\(i + 1)")
        }
    }

    static func jsonLines(_ bytes: [UInt8], _ path: String) throws -> [Row] {
        var rows: [Row] = []
        var line = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            line += 1
            let slice = bytes[start..<end]
            if slice.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                let json: JSON
                do { json = try JSON.parse(bytes: Array(slice)) } catch { throw DataError("\(path):\(line): not valid JSON: \(error)") }
                guard let o = json.objectValue else { throw DataError("\(path):\(line): a row must be an object") }
                rows.append(Row(object: o, origin: "\(path):\(line)"))
            }
            start = end + 1
        }
        return rows
    }

    /// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
    static func csv(_ bytes: [UInt8], _ path: String) throws -> [Row] {
        let text = String(decoding: bytes, as: UTF8.self)
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, afterQuote = false
        var chars = text.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" { quoted = false; afterQuote = true } else { field.append(c) }
                continue
            }
            switch c {
            case "\"":
                if afterQuote { field.append("\"") }
                quoted = true
                afterQuote = false
            case ",": record.append(field); field = ""; afterQuote = false
            case "\n", "\r\n":
                record.append(field); field = ""; afterQuote = false
                records.append(record); record = []
            default: field.append(c); afterQuote = false
            }
        }
        if quoted { throw DataError("\(path): a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { return [] }
        return try records.dropFirst().enumerated().compactMap { i, values in
            if values == [""] { return nil }
            guard values.count == header.count else { throw DataError("\(path):\(i + 2): \(values.count) fields, the header has \(header.count)") }
            return Row(object: JSONObject(zip(header, values.map { JSON.string($0) }).map { ($0, $1) }), origin: "\(path):\(i + 2)")
        }
    }
}
