import CRowKernels

// A generation's few-row fp32 products (a short prompt, a batched decoding step): each weight row read once by
// CRowKernels' AVX-512 loop (frk_dense_rows) for all rows at once, with the rows split across the threads
// as the packed weights' products are (multiplyGroup). Before, sgemm packed every weight first: an 8-token
// prompt's first token on SmolLM2's F32 file took 2x llama.cpp's time. Only a generation's forward takes it
// (no gradients, no bf16 products), so training, scoring and evaluation numbers never depend on it.

/// The few-row product of a dense [rows, cols] fp32 weight straight from its rows: out[i, r] = x[i] · w[r].
/// nil outside a generation's forward, with gradients, with bf16 products, for one input row (sgemv reads
/// the weight once already, and measured faster: bench/peers.sh decoded F32 at 28 tok/s through this, 30-34
/// through sgemv) or more than `directRows`, without AVX-512, or for a weight that is not a contiguous
/// matrix; then `linear` multiplies.
func denseRowProduct(_ w: Tensor, inputRows n: Int) -> PackedWeight.RowProduct? {
    let context = ExecutionContext.current
    guard n >= 2, n <= PackedWeight.directRows, context.generating, !GradMode.isEnabled, context.bf16 == nil, RowKernels.wideAvailable,
          w.rank == 2, w.isContiguous else { return nil }
    let (data, cols) = (UnsafePointer(w.data), w.shape[1])
    return { [w] x, n, first, count, out, outStride in
        withExtendedLifetime(w) { frk_dense_rows(data + first * cols, cols, count, x, cols, n, cols, out, outStride) }
    }
}
