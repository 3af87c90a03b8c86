// Which key positions a query may attend to beyond the causal and window rules: padding and the
// sample boundaries of packed rows (neat_packing). Kept as one sample number per position, so a
// kernel never needs an O(T²) mask; the additive form is built only for the reference attention.

/// Sample numbers of the key positions of a batch: `segments[b·keys + j]` is 0 for padding, else the
/// (1-based) sample key j belongs to. With `packed`, a query sees only keys of its own sample.
public final class SegmentMask {
    public let batch: Int
    public let keys: Int
    public let segments: [Int32]
    public let packed: Bool

    public init(batch: Int, keys: Int, segments: [Int32], packed: Bool) {
        precondition(segments.count == batch * keys, "segment mask: \(segments.count) numbers for \(batch) × \(keys)")
        self.batch = batch
        self.keys = keys
        self.segments = segments
        self.packed = packed
    }

    /// From LLaMA-Factory's attention mask rows: 1 = token (or the sample number with neat packing), 0 = padding.
    public convenience init(attentionMask rows: [[Int]], packed: Bool) {
        let keys = rows.first?.count ?? 0
        self.init(batch: rows.count, keys: keys, segments: rows.flatMap { $0.map { Int32(truncatingIfNeeded: $0) } }, packed: packed)
    }

    /// Whether key j is hidden from the query at key position `position` of sequence b by this mask.
    @inline(__always)
    public func hides(b: Int, position: Int, key j: Int) -> Bool {
        let s = segments[b * keys + j]
        if s == 0 { return true }
        return packed && s != segments[b * keys + max(0, position)]
    }

    /// The equivalent additive mask [B, 1, T, S] (0 or −∞) for `queries` queries ending at the last key.
    public func additive(queries T: Int) -> Tensor {
        let m = Tensor(shape: [batch, 1, T, keys])
        for b in 0..<batch {
            for i in 0..<T {
                let position = i + keys - T
                for j in 0..<keys { m.data[(b * T + i) * keys + j] = hides(b: b, position: position, key: j) ? -.infinity : 0 }
            }
        }
        return m
    }

    /// A [B, 1, 1, S] additive padding mask carrying these segments (what a family passes to attention unchanged).
    public func tensor() -> Tensor {
        let m = Tensor(shape: [batch, 1, 1, keys])
        for i in 0..<(batch * keys) { m.data[i] = segments[i] == 0 ? -.infinity : 0 }
        m.segmentMask = self
        return m
    }

    /// Reads the segments of an additive mask: the attached ones, or those of a [B, 1, 1, S] mask of
    /// 0 / −∞ (padding only). nil when the mask says more than padding (a general additive mask).
    public static func of(_ mask: Tensor, batch: Int, keys: Int) -> SegmentMask? {
        if let attached = mask.segmentMask, attached.batch == batch, attached.keys == keys { return attached }
        guard mask.rank == 4, mask.shape[1] == 1, mask.shape[2] == 1, mask.shape[3] == keys, mask.shape[0] == batch || mask.shape[0] == 1 else {
            return nil
        }
        let c = mask.contiguous()
        var segments = [Int32](repeating: 1, count: batch * keys)
        for b in 0..<batch {
            for j in 0..<keys {
                let v = c.data[(mask.shape[0] == 1 ? 0 : b) * keys + j]
                if v == -.infinity { segments[b * keys + j] = 0 } else if v != 0 { return nil }
            }
        }
        return SegmentMask(batch: batch, keys: keys, segments: segments, packed: false)
    }
}
