// Products of GGUF block rows with a few float input rows, for decoding (QuantizerKit's direct kernels):
// each weight row is read once in its packed size and never written out as fp32. The codes meet the
// input in exact integer sums, the input split into two int16 parts per 32-value block (BlockProducts.c),
// so a product differs from the dense one (dequantized weight times input) by fp32-sized rounding.
// The kernels use AVX-512 (F, BW) or AVX2 with FMA and F16C where the CPU has them (chosen at run time,
// so the same binary runs everywhere); elsewhere a portable loop computes the same sums.
//
// Thread rule: every function is pure over its arguments; callers split rows across threads freely.
#ifndef FACTORY_BLOCK_PRODUCTS_H
#define FACTORY_BLOCK_PRODUCTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The block formats with integer kernels, numbered as GGUF's `ggml_type`.
enum {
    FBP_Q4_0 = 2, FBP_Q4_1 = 3, FBP_Q5_0 = 6, FBP_Q5_1 = 7, FBP_Q8_0 = 8, FBP_Q2_K = 10, FBP_Q3_K = 11, FBP_Q4_K = 12,
    FBP_Q5_K = 13, FBP_Q6_K = 14,
};

/// How far fbp_multiply may go: the best the CPU has, at most AVX2, or the portable loop (tests compare them).
enum { FBP_BEST = 0, FBP_AT_MOST_AVX2 = 1, FBP_PORTABLE = 2 };

/// 1 when `type` (a GGUF type number) has a kernel here, else 0.
int fbp_supports(int type);

/// out[i·outStride + r] = Σ_c W[firstRow + r][c] · x[i·blocks·32 + c] for r < rowCount and i < n, where
/// W's rows are `rowBytes` apart from `packed` and hold blocks × 32 values each. The caller owns every
/// buffer; nothing is kept. Returns 0; -1 for a type without a kernel, -2 when a small scratch buffer
/// cannot be allocated (nothing written in either case). `limit` is one of FBP_BEST, FBP_AT_MOST_AVX2,
/// FBP_PORTABLE.
int fbp_multiply(int type, const void *packed, size_t rowBytes, int firstRow, int rowCount, int blocks,
                 const float *x, int n, float *out, size_t outStride, int limit);

#ifdef __cplusplus
}
#endif

#include "Int8Products.h"  // the 8-bit-input products, part of this module (the header above is its umbrella)
#endif
