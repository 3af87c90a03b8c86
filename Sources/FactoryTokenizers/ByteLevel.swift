/// GPT-2's reversible byte ↔ character map (tokenizers' `bytes_char`): printable
/// bytes map to themselves, the other 68 to U+0100 onwards, so every byte
/// sequence becomes a string of visible characters ("Ġ" is the space).
enum ByteLevel {
    /// Character for each byte value.
    static let byteToChar: [Character] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = printable.map { Character(Unicode.Scalar(UInt8($0))) }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(printable, chars) { table[b] = c }
        var next = 256
        for b in 0..<256 where !printable.contains(b) {
            table[b] = Character(Unicode.Scalar(UInt32(next))!)
            printable.append(b)
            chars.append(table[b])
            next += 1
        }
        return table
    }()

    /// Byte for each mapped character.
    static let charToByte: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { map[c] = UInt8(b) }
        return map
    }()

    /// The UTF-8 of each byte's character (1 or 2 bytes), packed: length in the top byte.
    static let byteToUTF8: [UInt32] = byteToChar.map { c in
        let u = Array(String(c).utf8)
        return UInt32(u.count) << 24 | (u.count > 1 ? UInt32(u[0]) << 8 | UInt32(u[1]) : UInt32(u[0]))
    }

    /// The mapped string of some UTF-8 bytes (built as UTF-8 directly: no Character appends).
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { append(b, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The mapped string of the UTF-8 bytes of some scalars.
    static func encode(scalars: ArraySlice<Unicode.Scalar>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count * 2)
        for scalar in scalars { for b in scalar.utf8 { append(b, to: &out) } }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func append(_ b: UInt8, to out: inout [UInt8]) {
        let packed = byteToUTF8[Int(b)]
        if packed >> 24 == 1 {
            out.append(UInt8(packed & 0xFF))
        } else {
            out.append(UInt8((packed >> 8) & 0xFF))
            out.append(UInt8(packed & 0xFF))
        }
    }
}
