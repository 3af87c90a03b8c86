import CRowKernels

// Decoding's fp32 products: a token's input row against a dense weight, each weight row read once by
// CRowKernels' AVX-512 loop (frk_dense_rows), with the rows split across the threads as the packed
// weights' products are (multiplyGroup). Before, they went to OpenBLAS's sgemv and its own threads: on
// SmolLM2's F32 file decoding ran at 0.86x llama.cpp. Only a generation's forward takes it (no gradients,
// no bf16 products), so training, scoring and evaluation numbers never depend on it.

/// The few-row product of a dense [rows, cols] fp32 weight straight from its rows: out[i, r] = x[i] · w[r].
/// nil outside a generation's forward, with gradients, with bf16 products, for more than `directRows`
/// input rows, without AVX-512, or for a weight that is not a contiguous matrix; then `linear` multiplies.
func denseRowProduct(_ w: Tensor, inputRows n: Int) -> PackedWeight.RowProduct? {
    let context = ExecutionContext.current
    guard n <= PackedWeight.directRows, context.generating, !GradMode.isEnabled, context.bf16 == nil, RowKernels.wideAvailable,
          w.rank == 2, w.isContiguous else { return nil }
    let (data, cols) = (UnsafePointer(w.data), w.shape[1])
    return { [w] x, n, first, count, out, outStride in
        withExtendedLifetime(w) { frk_dense_rows(data + first * cols, cols, count, x, cols, n, cols, out, outStride) }
    }
}
