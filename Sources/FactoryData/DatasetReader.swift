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
/// row; txt: one row {"text": line} per line, as the datasets library's text loader) into rows. Each row keeps its 1-based position for messages.
public enum DatasetReader {
    public struct Row {
        public let object: JSONObject
        /// "file:row".
        public let origin: String
    }

    /// The rows of dataset `name` (its file in `info`), cut to its `num_samples` and to `max_samples`.
    /// A file with no rows is an error naming the dataset and the file.
    public static func rows(of name: String, _ a: DatasetAttributes, info: DatasetInfo, maxSamples: Int?) throws -> [Row] {
        let path = info.directory + "/" + a.fileName
        var rows = try read(path, dataset: name)
        guard !rows.isEmpty else { throw DataError("\(path): dataset '\(name)' has no rows") }
        if let n = a.numSamples { rows = Array(rows.prefix(n)) }
        if let max = maxSamples { rows = Array(rows.prefix(max)) }
        return rows
    }

    /// The rows of one file; `dataset` names it in messages. Text that is not UTF-8 is refused with
    /// its row, field and byte offset, never decoded as U+FFFD.
    public static func read(_ path: String, dataset: String? = nil) throws -> [Row] {
        let named = dataset.map { " (dataset '\($0)')" } ?? ""
        var info = stat()
        if stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
            throw DataError("\(path): file_name is a directory\(named); Factory reads one .json, .jsonl, .csv or .txt file per dataset")
        }
        guard let bytes = readBytes(path) else { throw DataError("\(path): cannot be read\(named) (\(String(cString: strerror(errno))))") }
        guard bytes.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { throw DataError("\(path): the file is empty\(named)") }
        if path.hasSuffix(".jsonl") { return try jsonLines(bytes, path) }
        if path.hasSuffix(".csv") { return try csv(bytes, path) }
        if path.hasSuffix(".txt") { return try textLines(bytes, path) }
        if let ext = [".parquet", ".arrow"].first(where: path.hasSuffix) {
            throw DataError("\(path): \(ext) files are not read\(named); Factory reads .json, .jsonl, .csv and .txt")
        }
        let json: JSON
        do { json = try JSON.parse(bytes: bytes) } catch let e as JSONParseError {
            if let (offset, at) = e.invalidUTF8 { throw invalidUTF8(path, offset: offset, path: at, rowFromPath: true) }
            throw DataError("\(path): not valid JSON: \(e)")
        }
        guard let items = json.arrayValue else { throw DataError("\(path): a .json dataset must be a list of rows") }
        return try items.enumerated().map { i, item in
            guard let o = item.objectValue else { throw DataError("\(path):\(i + 1): a row must be an object, got \(item.kindDescription)") }
            return Row(object: o, origin: "\(path):\(i + 1)")
        }
    }

    /// Python's str.splitlines() line ends, which the datasets text loader splits on (no line end kept;
    /// a final line end adds no empty row; empty lines inside are rows).
    static let lineEnds: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"]

    static func textLines(_ bytes: [UInt8], _ path: String) throws -> [Row] {
        if let bad = UTF8Validation.firstInvalidByte(bytes) {
            let line = bytes[..<bad].filter { $0 == 0x0A }.count + 1
            throw DataError("\(path):\(line): not UTF-8 (byte offset \(bad))")
        }
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var rows: [Row] = [], current = String.UnicodeScalarView(), i = 0
        func emit() { rows.append(Row(object: JSONObject([("text", .string(String(current)))]), origin: "\(path):\(rows.count + 1)")) }
        while i < scalars.count {
            let c = scalars[i]
            if lineEnds.contains(c) {
                emit()
                current = String.UnicodeScalarView()
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
            } else {
                current.append(c)
            }
            i += 1
        }
        if !current.isEmpty { emit() }
        return rows
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
                do { json = try JSON.parse(bytes: Array(slice)) } catch let e as JSONParseError {
                    if let (offset, at) = e.invalidUTF8 { throw invalidUTF8(path, offset: start + offset, path: at, row: line) }
                    throw DataError("\(path):\(line): not valid JSON: \(e)")
                }
                guard let o = json.objectValue else { throw DataError("\(path):\(line): a row must be an object") }
                rows.append(Row(object: o, origin: "\(path):\(line)"))
            }
            start = end + 1
        }
        return rows
    }

    /// "file:row field: not valid UTF-8 (byte offset N)". For a .json list the row is the path's first index.
    static func invalidUTF8(_ file: String, offset: Int, path: String, row: Int? = nil, rowFromPath: Bool = false) -> DataError {
        var row = row, field = Substring(path)
        if rowFromPath, field.hasPrefix("["), let close = field.firstIndex(of: "]"), let i = Int(field[field.index(after: field.startIndex)..<close]) {
            row = i + 1
            field = field[field.index(after: close)...]
        }
        if field.hasPrefix(".") { field = field.dropFirst() }
        return DataError("\(file)\(row.map { ":\($0)" } ?? "") \(field.isEmpty ? "row" : String(field)): not valid UTF-8 (byte offset \(offset))")
    }

    /// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
    static func csv(_ bytes: [UInt8], _ path: String) throws -> [Row] {
        let records = try csvRecords(bytes, path)
        guard let header = records.first else { return [] }
        return try records.dropFirst().enumerated().compactMap { i, values in
            if values == [""] { return nil }
            guard values.count == header.count else { throw DataError("\(path):\(i + 2): \(values.count) fields, the header has \(header.count)") }
            return Row(object: JSONObject(zip(header, values.map { JSON.string($0) }).map { ($0, $1) }), origin: "\(path):\(i + 2)")
        }
    }

    /// The records of a CSV file as they are (a header, if the file has one, is the first), RFC 4180:
    /// quoted fields may hold commas, newlines and doubled quotes. Text that is not UTF-8 is refused
    /// naming the row and field.
    public static func csvRecords(_ bytes: [UInt8], _ path: String) throws -> [[String]] {
        if let bad = UTF8Validation.firstInvalidByte(bytes) { throw csvInvalidUTF8(bytes, path, offset: bad) }
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
        return records
    }

    /// The row (1 = header) and column name holding byte `offset` of a CSV file that is not UTF-8.
    static func csvInvalidUTF8(_ bytes: [UInt8], _ path: String, offset: Int) -> DataError {
        var record = 1, field = 0, quoted = false
        var headerEnd = bytes.count
        for i in 0..<offset {
            switch bytes[i] {
            case 0x22: quoted.toggle()
            case 0x2C where !quoted: field += 1
            case 0x0A where !quoted:
                if record == 1 { headerEnd = i }
                record += 1
                field = 0
            default: break
            }
        }
        let header = record == 1 ? [] : String(decoding: bytes[0..<headerEnd], as: UTF8.self)
            .split(separator: ",", omittingEmptySubsequences: false).map { String($0.filter { $0 != "\r" && $0 != "\"" }) }
        let name = field < header.count ? header[field] : "column \(field + 1)"
        return DataError("\(path):\(record) \(record == 1 ? "header" : name): not valid UTF-8 (byte offset \(offset))")
    }
}
