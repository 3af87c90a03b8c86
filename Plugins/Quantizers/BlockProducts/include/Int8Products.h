// Products of GGUF block rows with inputs rounded to 8 bits, as llama.cpp multiplies when decoding: each
// 32-value block of an input row is rounded to int8 codes with the step max|x| / 127 (llama.cpp's q8_0/q8_1
// activations), the weight codes meet them in integer dot products (AVX-512 VNNI; AVX2 otherwise), and each
// block's integer sum is scaled once. The weight is repacked first (fbp_int8_repack) into groups of 8 rows
// whose per-block scales sit side by side, so the scale work of 8 rows is one vector operation.
//
// Accuracy: out differs from the exact product Σ_c W[r][c]·x[c] by at most Σ_b (step_b / 2)·Σ_{c in b} |W[r][c]|
// (each input value moves by at most half its block's step) plus fp32 rounding; about 1% of a product's
// size on real activations. The weight's values are used exactly (same fp16 scales and codes as the file).
// Every kernel level computes the same integer sums and the same fused multiply-adds in the same order, so
// FBP_BEST, FBP_AT_MOST_AVX2 and FBP_PORTABLE give bit-identical outputs, and an input's output never
// depends on the other inputs of the call (batched decoding equals one row at a time).
//
// Thread rule: a repacked matrix is read-only after fbp_int8_repack returns; fbp_int8_multiply may run on
// it from several threads at once (on disjoint row ranges of `out`).
#ifndef FACTORY_INT8_PRODUCTS_H
#define FACTORY_INT8_PRODUCTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A weight matrix repacked for 8-bit-input products. Opaque; owned by whoever repacked it.
typedef struct fbp_int8_matrix fbp_int8_matrix;

/// 1 when `type` (a GGUF type number: FBP_Q4_0, FBP_Q4_1, FBP_Q8_0) has an 8-bit-input kernel, else 0.
int fbp_int8_supports(int type);

/// Repacks the `rows` rows of `packed` (GGUF blocks of `type`, rows `rowBytes` apart, `blocks` × 32 values
/// each); `packed` is read during the call only. Returns a new matrix to free with fbp_int8_free, or NULL:
/// a type without a kernel, no memory, or a q4_0 block whose scale × 8 does not fit fp16 (|d| > 4096; no
/// real weight has one), the caller then keeps the exact product.
fbp_int8_matrix *fbp_int8_repack(int type, const void *packed, size_t rowBytes, int rows, int blocks);

/// Bytes the repacked matrix holds (its codes and scales).
size_t fbp_int8_bytes(const fbp_int8_matrix *m);

/// Frees a matrix from fbp_int8_repack (NULL is ignored).
void fbp_int8_free(fbp_int8_matrix *m);

/// out[i·outStride + r] ≈ Σ_c W[firstRow + r][c] · x[i·blocks·32 + c] for r < rowCount and i < n, the inputs
/// rounded to 8 bits per 32-value block (see above). An input block with a non-finite value gives nan. The
/// caller owns x and out. Returns 0; -1 for rows outside the matrix; -2 when scratch memory cannot be had
/// (nothing written then). `limit`: FBP_BEST, FBP_AT_MOST_AVX2 or FBP_PORTABLE (BlockProducts.h).
int fbp_int8_multiply(const fbp_int8_matrix *m, int firstRow, int rowCount, const float *x, int n, float *out,
                      size_t outStride, int limit);

#ifdef __cplusplus
}
#endif
#endif
