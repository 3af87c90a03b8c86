import CZlib

/// A minimal PNG encoder: 8-bit RGB, each row with the Up filter (plots are mostly flat colour,
/// so rows repeat), deflated by zlib at its best level. Every decoder reads it.
public enum PNGWriter {
    /// The PNG file of `rgb` (width × height × 3 bytes); throws on a size mismatch or a zlib failure.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) throws -> [UInt8] {
        guard rgb.count == width * height * 3 else { throw PNGError("PNG: \(rgb.count) bytes for \(width)x\(height) RGB") }
        var raw: [UInt8] = []
        let stride = width * 3
        raw.reserveCapacity(height * (stride + 1))
        for y in 0..<height {
            raw.append(2)  // Up: each byte minus the byte above it
            for i in 0..<stride {
                let above = y > 0 ? rgb[(y - 1) * stride + i] : 0
                raw.append(rgb[y * stride + i] &- above)
            }
        }
        var size = compressBound(uLong(raw.count))
        var zlib = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&zlib, &size, raw, uLong(raw.count), Z_BEST_COMPRESSION)
        guard status == Z_OK else { throw PNGError("PNG: zlib compress2 failed (status \(status))") }
        zlib.removeLast(zlib.count - Int(size))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        png += chunk("IDAT", zlib)
        png += chunk("IEND", [])
        return png
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// A PNG that could not be encoded: one line.
public struct PNGError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
