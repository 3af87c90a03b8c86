/// An n-dimensional view of a Storage: shape, strides (in elements) and an
/// offset. Views (reshape, permute, transpose, slice) share storage. Compute
/// is fp32. A tensor that requires gradients either is a leaf (a parameter,
/// whose `grad` accumulates across backward passes) or was produced by an op
/// recorded on the tape (`node`).
public final class Tensor {
    public let storage: Storage
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
    /// Element count (product of the shape).
    public let count: Int
    /// True when elements are laid out row-major without gaps from `offset`.
    public let isContiguous: Bool

    /// Whether gradients flow to or through this tensor.
    public internal(set) var requiresGrad: Bool = false
    /// Accumulated gradient of a leaf (same shape, contiguous).
    public var grad: Tensor?
    /// The op that produced this tensor, when it was recorded.
    var node: Node?
    /// A name for messages and for the C ABI (parameters).
    public var name: String?
    /// On an attention mask: the padding and packed-sample numbers it stands for (see SegmentMask).
    public var segmentMask: SegmentMask?

    init(storage: Storage, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides
        self.count = shape.reduce(1, *)
        self.isContiguous = Tensor.isRowMajor(shape, strides)
    }

    /// Whether elements at these strides lie row-major and dense: every dimension of more than one
    /// element has its row-major stride (a size-1 dimension's stride never moves an address, so a
    /// decoding step's permuted one-token tensors need no copy).
    static func isRowMajor(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[i] != 1 && strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// A new contiguous tensor; uninitialised unless `zeroed`.
    public convenience init(shape: [Int], zeroed: Bool = false) {
        let n = shape.reduce(1, *)
        self.init(storage: zeroed ? Storage(zeros: n) : Storage(count: n), offset: 0, shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A new tensor holding `values` (row-major).
    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(repeating: value, count: t.count)
        return t
    }

    /// A scalar (shape []).
    public static func scalar(_ value: Float) -> Tensor { Tensor(shape: [], values: [value]) }

    /// Row-major strides of `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// The first element; for contiguous tensors the start of `count` floats.
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.floats + offset }

    public var rank: Int { shape.count }

    /// Marks a leaf as trainable: backward() accumulates into `grad`.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// The elements in row-major order (copies).
    public var values: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.data, count: c.count))
    }

    /// The single element of a one-element tensor.
    public var item: Float { values[0] }

    /// A view of the same storage with another shape and strides (no copy, not recorded).
    func view(shape: [Int], strides: [Int], offset: Int? = nil) -> Tensor {
        Tensor(storage: storage, offset: offset ?? self.offset, shape: shape, strides: strides)
    }

    /// This tensor without its history: same storage, no gradient.
    public func detached() -> Tensor { view(shape: shape, strides: strides) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let v = values
        let shown = v.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(v.count > 8 ? ", ..." : "")]"
    }
}
