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

    /// The mapped string of some UTF-8 bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = ""
        for b in bytes { s.append(byteToChar[Int(b)]) }
        return s
    }
}
