import FactoryEngine
import FactoryFormats
import FactoryHost

/// A GGUF weight the family reordered while loading (llama.cpp's q and k rows, permuted per head for its
/// rope) still multiplies from the file's own blocks when decoding: GGUF block rows are independent and
/// contiguous, so the rows are copied in the loaded order. Which file row is which loaded row is found by
/// content — every loaded row must equal one file row bit for bit (through the quantizer's own unpacking),
/// so nothing about the family's permutation is assumed, and a weight that is not a pure row reordering
/// (transformed values, merged tensors) is left fp32.
enum ReorderedFileBlocks {
    /// The file's blocks of every GGUF tensor, by the family parameter it loads into (map_checkpoint_name).
    static func byParameter(_ file: GGUFFile, family: ModelFamilyInstance) -> [String: GGUFTensorInfo] {
        var table: [String: GGUFTensorInfo] = [:]
        for info in file.tensors {
            guard let name = try? family.mapCheckpointName(format: "gguf", name: info.name) else { continue }  // nil: dropped or unknown
            table[name] = table[name] ?? info
        }
        return table
    }

    /// The file's blocks of `w` ([rows, cols], `bytes` in the quantizer's format) with their rows in `w`'s
    /// order, when every row of `w` is exactly one row of the file; nil otherwise.
    static func rowsInLoadedOrder(_ w: Tensor, _ bytes: UnsafeRawBufferPointer, _ quantizer: QuantizerInstance) -> PackedBytes? {
        guard w.rank == 2 else { return nil }
        let (rows, cols) = (w.shape[0], w.shape[1])
        guard rows > 0, cols > 0, let size = try? quantizer.packedSize(rows: rows, cols: cols), size == bytes.count, size % rows == 0 else { return nil }
        var fileValues = [Float](repeating: 0, count: rows * cols)
        let unpacked: Bool = fileValues.withUnsafeMutableBufferPointer { out in
            (try? quantizer.dequantize(bytes, rows: rows, cols: cols, firstRow: 0, rowCount: rows, into: out.baseAddress!)) != nil
        }
        guard unpacked else { return nil }
        let loaded = w.contiguous()
        func rowHash(_ p: UnsafePointer<Float>) -> Int {
            var h = Hasher()
            UnsafeBufferPointer(start: p, count: cols).forEach { h.combine($0.bitPattern) }
            return h.finalize()
        }
        var candidates: [Int: [Int]] = [:]
        fileValues.withUnsafeBufferPointer { f in
            for r in 0..<rows { candidates[rowHash(f.baseAddress! + r * cols), default: []].append(r) }
        }
        var order = [Int](repeating: -1, count: rows)
        for r in 0..<rows {
            let row = loaded.data + r * cols, hash = rowHash(row)
            let found = fileValues.withUnsafeBufferPointer { f -> Int? in
                guard var list = candidates[hash] else { return nil }
                guard let i = list.firstIndex(where: { c in (0..<cols).allSatisfy { f[c * cols + $0].bitPattern == row[$0].bitPattern } }) else { return nil }
                let match = list.remove(at: i)
                candidates[hash] = list  // each file row serves one loaded row
                return match
            }
            guard let found else { return nil }
            order[r] = found
        }
        let rowBytes = size / rows
        let out = PackedBytes(count: size)
        for (r, source) in order.enumerated() {
            out.mutable.baseAddress!.advanced(by: r * rowBytes).copyMemory(from: bytes.baseAddress!.advanced(by: source * rowBytes), byteCount: rowBytes)
        }
        return out
    }
}
