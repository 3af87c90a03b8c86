/// Where a byte sequence stops being UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// past U+10FFFF), so a reader can name the byte instead of silently decoding it as U+FFFD.
public enum UTF8Validation {
    /// The offset of the first byte that does not start or continue a valid sequence, or nil when all is UTF-8.
    public static func firstInvalidByte(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            // the length of the sequence and the range its second byte must be in
            let length: Int, low: UInt8, high: UInt8
            switch b {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)        // no overlong forms
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)        // no surrogates
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)        // nothing past U+10FFFF
            default: return i
            }
            guard i + 1 < n, bytes[i + 1] >= low, bytes[i + 1] <= high else { return i }
            for k in 2..<length {
                guard i + k < n, bytes[i + k] & 0xC0 == 0x80 else { return i }
            }
            i += length
        }
        return nil
    }

    public static func firstInvalidByte(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBytes { firstInvalidByte($0) } }
}
