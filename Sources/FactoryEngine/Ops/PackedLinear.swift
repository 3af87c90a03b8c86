import COpenBLAS
import Synchronization

// A linear layer whose frozen weight stays packed by a quantizer: the weight is unpacked a tile of
// rows at a time into a small buffer that feeds sgemm, never as a whole matrix. Forward computes
// x · Wᵀ (+ b); backward gives the input gradient g · W the same way (the base is frozen: no dW).
// Inputs of a few rows (decoding) go to the quantizer's own product straight from the packed rows
// when it has one, split by output rows across the engine's threads: by default its 8-bit-input
// product (ABI 1.9, built on first use from a layout the plugin prepares), else the exact one.
// A generation's prompts of up to `generatingRows` rows take the 8-bit product as well.

/// A frozen weight [rows = out, cols = in] held in a quantizer's format.
public final class PackedWeight {
    public let rows: Int
    public let cols: Int
    /// Resident bytes of the packed form.
    public let bytes: Int
    /// Fills `rowCount` rows starting at `firstRow` as fp32 into the buffer ([rowCount, cols]).
    let unpack: (_ firstRow: Int, _ rowCount: Int, _ into: UnsafeMutablePointer<Float>) throws -> Void
    /// out[i, r − firstRow] = x[i] · W[r] for rows [firstRow, firstRow + rowCount) of the n inputs
    /// x ([n, cols]), out with row stride `outStride`; straight from the packed rows. Called from
    /// several threads at once on disjoint row ranges. nil: the quantizer has no such product.
    public typealias RowProduct = (_ x: UnsafePointer<Float>, _ n: Int, _ firstRow: Int, _ rowCount: Int,
                                   _ out: UnsafeMutablePointer<Float>, _ outStride: Int) throws -> Void
    let multiplyRows: RowProduct?
    /// Builds the quantizer's 8-bit-input product for this weight (inputs rounded to int8 per 32-value
    /// block, as llama.cpp decodes; ABI 1.9): called once, on the first few-row product while
    /// `roundsInputsTo8Bits` holds. It returns nil when the plugin has none for this weight. nil: never.
    let prepareInt8: (() throws -> RowProduct?)?
    private let int8 = Mutex<Int8Product>(.unprepared)
    private enum Int8Product { case unprepared, unavailable, ready(RowProduct) }
    /// Whether few-row products may round their inputs to 8 bits where the quantizer can (the run key
    /// `int8_activations`, default true): about 1% error per product, 2-4x faster on CPUs with VNNI.
    public static var roundsInputsTo8Bits: Bool {
        get { int8Inputs.load(ordering: .relaxed) }
        set { int8Inputs.store(newValue, ordering: .relaxed) }
    }
    private static let int8Inputs = Atomic<Bool>(true)
    /// An fp32 twin the host keeps anyway (a GGUF's tied LM head is also the embeddings): inputs of more
    /// than `directRows` rows multiply it with sgemm instead of unpacking tiles. nil: none.
    public var dense: Tensor?

    /// Inputs of at most this many rows use `multiplyRows` (decoding); larger ones unpack tiles for sgemm.
    public static let directRows = 8
    /// Inside `generating`, inputs of up to this many rows (a chat prompt, a batched step of many sequences)
    /// use the 8-bit-input product when there is one. On SmolLM2's Q4_1 file the first token of a 16-token
    /// prompt takes 32 ms against sgemm's 127, of 32 tokens 63 against 100-108, of 64 tokens 120-131
    /// against 131-159, where the two meet (`factory-model-bench --prompt P`, docs/performance.md).
    public static let generatingRows = 64

    /// Runs `body` as a generation's forward (Generator, BatchDecoder): no gradients, and inputs of up to
    /// `generatingRows` rows through the 8-bit-input product. Training and loss evaluation stay outside,
    /// so their numbers never depend on how many rows a batch has.
    public static func generating<T>(_ body: () throws -> T) rethrows -> T {
        let context = ExecutionContext.current
        let saved = context.generating
        context.generating = true
        defer { context.generating = saved }
        return try GradMode.disabled(body)
    }
    /// Multiply-adds from which a direct product is split across threads.
    public static let parallelWork = 1 << 16

    public init(rows: Int, cols: Int, bytes: Int, unpack: @escaping (Int, Int, UnsafeMutablePointer<Float>) throws -> Void,
                multiplyRows: RowProduct? = nil, prepareInt8: (() throws -> RowProduct?)? = nil) {
        (self.rows, self.cols, self.bytes) = (rows, cols, bytes)
        self.unpack = unpack
        self.multiplyRows = multiplyRows
        self.prepareInt8 = prepareInt8
    }

    /// The product for an input of a few rows: the 8-bit-input one when allowed and available (prepared
    /// here the first time, under a lock), else the exact one; nil when the quantizer has neither.
    func fewRowProduct() throws -> RowProduct? {
        try int8Product() ?? multiplyRows
    }

    /// The product straight from the packed rows that an input of `n` rows takes, or nil for unpacked tiles
    /// and sgemm: up to `directRows` rows `fewRowProduct`; inside a generation without gradients, up to
    /// `generatingRows` rows the 8-bit-input product when there is one.
    func directProduct(rows n: Int) throws -> RowProduct? {
        if n <= Self.directRows { return try fewRowProduct() }
        let generating = n <= Self.generatingRows && ExecutionContext.current.generating && !GradMode.isEnabled
        return generating ? try int8Product() : nil
    }

    /// The 8-bit-input product when `roundsInputsTo8Bits` allows it and the quantizer has one, else nil.
    func int8Product() throws -> RowProduct? {
        guard Self.roundsInputsTo8Bits, let prepareInt8 else { return nil }
        return try int8.withLock { state in
            switch state {
            case .ready(let product): return product
            case .unavailable: return nil
            case .unprepared:
                let product = try prepareInt8()
                state = product.map { .ready($0) } ?? .unavailable
                return product
            }
        }
    }

    /// Rows per tile: about 256 KB of fp32 (an L2-sized buffer), at least 16.
    var tileRows: Int { max(16, min(rows, (256 << 10) / 4 / max(cols, 1))) }

    /// Calls body(firstRow, rowCount, tile) for every tile of unpacked rows, in order.
    func forEachTile(_ body: (Int, Int, UnsafePointer<Float>) -> Void) throws {
        let r = tileRows
        let tile = Tensor(shape: [r, cols])
        var first = 0
        while first < rows {
            let n = min(r, rows - first)
            try unpack(first, n, tile.data)
            body(first, n, tile.data)
            first += n
        }
    }
}

/// x [..., in] · Wᵀ + bias with W packed: [..., out]. Gradients flow to x (and bias), never to W.
public func packedLinear(_ x: Tensor, _ w: PackedWeight, bias: Tensor? = nil) throws -> Tensor {
    guard x.rank >= 1, x.shape[x.rank - 1] == w.cols else { throw HookError("packed linear: input \(x.shape) does not fit weight [\(w.rows), \(w.cols)]") }
    if let bias, bias.shape != [w.rows] { throw HookError("packed linear: bias \(bias.shape) does not fit weight [\(w.rows), \(w.cols)]") }
    let n = x.count / w.cols
    let product = try w.directProduct(rows: n)
    if product == nil, n > PackedWeight.directRows, let dense = w.dense { return linear(x, dense, bias: bias) }
    let xc = x.contiguous()
    let out = Tensor(shape: Array(x.shape.dropLast()) + [w.rows])
    if let product {
        try multiplyDirect(xc, n, w, product, into: out)
        return bias.map { add(recordPackedLinear(out, xc, w), $0) } ?? recordPackedLinear(out, xc, w)
    }
    try w.forEachTile { first, count, tile in
        gemm(transA: false, transB: true, M: n, N: count, K: w.cols, xc.data, lda: w.cols, tile, ldb: w.cols, out.data + first, ldc: w.rows)
    }
    return bias.map { add(recordPackedLinear(out, xc, w), $0) } ?? recordPackedLinear(out, xc, w)
}

/// out = x · Wᵀ through the quantizer's row product, split across the engine's threads as one
/// weight's group (see multiplyGroup).
private func multiplyDirect(_ x: Tensor, _ n: Int, _ w: PackedWeight, _ product: @escaping PackedWeight.RowProduct, into out: Tensor) throws {
    try multiplyGroup(x, n, w.cols, [w.rows], [product], into: [out])
}

/// Records `out` = x · Wᵀ (computed already, bias excluded) with the input gradient g · W, a tile
/// of W at a time. Also what a checkpoint replay uses for a kept output of a packed linear.
func recordPackedLinear(_ out: Tensor, _ x: Tensor, _ w: PackedWeight) -> Tensor {
    let xc = x.contiguous(), n = x.count / w.cols
    return out.recorded("packed_linear", [xc]) { g in
        let gc = g.contiguous()
        guard xc.requiresGrad else { return [nil] }
        let dx = Tensor(shape: xc.shape, zeroed: true)
        do {
            try w.forEachTile { first, count, tile in
                gemm(transA: false, transB: false, M: n, N: w.cols, K: count, gc.data + first, lda: w.rows, tile, ldb: w.cols, beta: 1,
                     dx.data, ldc: w.cols)
            }
        } catch {
            if GradMode.backwardFailure == nil { GradMode.backwardFailure = "packed linear: \(error)" }
            return [nil]
        }
        return [dx]
    }
}

extension PackedWeight {
    /// The whole weight unpacked (to merge an adapter into it, or to read it).
    public func unpacked() throws -> Tensor {
        let t = Tensor(shape: [rows, cols])
        try unpack(0, rows, t.data)
        return t
    }
}
