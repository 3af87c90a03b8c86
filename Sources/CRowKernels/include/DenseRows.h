// Products of a few input rows with rows of a dense fp32 weight, for decoding's fp32 linears: each weight
// row is read from memory once for all inputs (a token's products are bound by memory, not arithmetic),
// and rows can be split across threads by the caller. AVX-512, chosen at run time like RowKernels.h: call
// only after frk_wide_available() returned 1.
//
// Thread rule: pure over its arguments (the caller owns every buffer, nothing is kept); callers split the
// rows across threads freely.
#ifndef FACTORY_DENSE_ROWS_H
#define FACTORY_DENSE_ROWS_H

#ifdef __cplusplus
extern "C" {
#endif

/// out[i·out_stride + r] = Σ_c w[r·ldw + c] · x[i·ldx + c] for r < rows and i < n, c < cols. Each output
/// is the same float whatever `rows`, `n` and the row range a caller asks for: its products are summed in
/// 16 lanes over c in order and the lanes by one fixed tree, so an input gives the same bits alone, in any
/// batch and split in any way. rows, n, cols ≥ 0; ldw, ldx ≥ cols.
void frk_dense_rows(const float *w, long ldw, long rows, const float *x, long ldx, long n, long cols, float *out, long out_stride);

#ifdef __cplusplus
}
#endif

#endif
