#if canImport(Glibc)
import Glibc
#endif

/// Tokenized datasets cached on disk (`tokenized_path`): reused when every input is
/// unchanged — the dataset files' bytes, their dataset_info entries, the tokenizer, the
/// template and the preprocessing keys — and rebuilt otherwise. Written atomically (a
/// temporary file renamed over the old one), so an interrupted write never leaves a
/// broken cache behind.
public enum TokenizedCache {
    static let magic: [UInt8] = Array("FACTORY-TOKENIZED-1\n".utf8)

    /// FNV-1a over everything that decides the result.
    public struct Fingerprint {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        public init() {}
        public mutating func add(_ bytes: [UInt8]) {
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            add(UInt64(bytes.count))
        }
        public mutating func add(_ s: String) { add(Array(s.utf8)) }
        mutating func add(_ v: UInt64) { for i in 0..<8 { hash = (hash ^ ((v >> (8 * UInt64(i))) & 0xFF)) &* 0x0000_0100_0000_01B3 } }
        public var value: UInt64 { hash }
    }

    static func file(_ directory: String) -> String { directory + "/factory-tokenized.bin" }

    /// The cached set, when `directory` holds one with this fingerprint.
    public static func load(_ directory: String, fingerprint: UInt64) -> PreparedDataset? {
        guard let bytes = readBytes(file(directory)), bytes.count >= magic.count + 8, Array(bytes.prefix(magic.count)) == magic else { return nil }
        var r = Reader(bytes: bytes, offset: magic.count)
        guard r.u64() == fingerprint else { return nil }
        var d = PreparedDataset()
        d.truncated = Int(r.u64())
        d.skipped = Int(r.u64())
        func examples() -> [EncodedExample]? {
            let n = Int(r.u64())
            guard n < 100_000_000 else { return nil }
            var out: [EncodedExample] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                let len = Int(r.u64())
                guard len < 10_000_000, let ids = r.ints(len), let labels = r.ints(len) else { return nil }
                out.append(EncodedExample(inputIDs: ids, labels: labels))
            }
            return out
        }
        guard let train = examples(), let eval = examples(), !r.failed else { return nil }
        d.train = train
        d.eval = eval
        return d
    }

    /// Writes `data` under `fingerprint` into `directory` (created if needed), atomically.
    public static func save(_ data: PreparedDataset, to directory: String, fingerprint: UInt64) throws {
        mkdir(directory, 0o755)
        var out = magic
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func ints(_ a: [Int]) { for v in a { withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { out += $0 } } }
        u64(fingerprint)
        u64(UInt64(data.truncated))
        u64(UInt64(data.skipped))
        for set in [data.train, data.eval] {
            u64(UInt64(set.count))
            for e in set {
                u64(UInt64(e.inputIDs.count))
                ints(e.inputIDs)
                ints(e.labels)
            }
        }
        let target = file(directory), temporary = target + ".tmp-\(getpid())"
        guard let f = fopen(temporary, "wb") else { throw DataError("\(directory): cannot write the tokenized cache") }
        let written = fwrite(out, 1, out.count, f)
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard written == out.count, flushed, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw DataError("\(target): writing the tokenized cache failed")
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset: Int
        var failed = false
        mutating func u64() -> UInt64 {
            guard offset + 8 <= bytes.count else { failed = true; return 0 }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            return v
        }
        mutating func ints(_ n: Int) -> [Int]? {
            guard offset + 4 * n <= bytes.count else { failed = true; return nil }
            var out = [Int](repeating: 0, count: n)
            for i in 0..<n {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(bytes[offset + 4 * i + k]) << (8 * UInt32(k)) }
                out[i] = Int(Int32(bitPattern: v))
            }
            offset += 4 * n
            return out
        }
    }
}
