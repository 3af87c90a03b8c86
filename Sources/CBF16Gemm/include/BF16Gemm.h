// bf16 matrix products with fp32 accumulation, through oneDNN (Debian's libdnnl), for the engine's mixed
// precision (`bf16: true`). The operands arrive in fp32 and are rounded to bf16 (nearest even, as torch's
// autocast casts them); oneDNN multiplies them and accumulates in fp32; the result is fp32. On a CPU with
// AVX512_BF16 or AMX-BF16 oneDNN runs native bf16 kernels; elsewhere it emulates them (slower than fp32
// sgemm), which is why the engine only asks for it where fbg_native_bf16() says yes, unless told otherwise.
//
// Thread rule: every function may be called from any thread; nothing is kept between calls except the
// oneDNN engine (created once) and oneDNN's own primitive cache. The caller owns every buffer.
#ifndef FACTORY_BF16_GEMM_H
#define FACTORY_BF16_GEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU multiplies bf16 natively (x86-64 with AVX512_BF16 or AMX-BF16), else 0.
int fbg_native_bf16(void);

/// Rounds a rows × cols fp32 matrix (row stride `ld` ≥ cols) to bf16, nearest even, into `dst`
/// (rows × cols, contiguous). NaN stays a quiet NaN.
void fbg_to_bf16(const float *src, long rows, long cols, long ld, uint16_t *dst);

/// C = alpha · op(A) · op(B), row-major as cblas_sgemm: op(A) is M × K (A stored K × M with
/// row stride lda when transA), op(B) is K × N (B stored N × K with row stride ldb when transB), C is M × N
/// with row stride ldc. op(A) and op(B) are rounded to bf16 first, unless `Abf16` / `Bbf16` give them
/// already rounded (contiguous, in the stored layout: rows × cols of A or B as stored, no padding).
/// Runs on `threads` OpenMP threads. Returns 0; -1 when memory ran out, -(100 + oneDNN status) when
/// oneDNN refused the problem, -2 when the product failed part-way; C's contents are unspecified after a
/// failure (the caller computes it again another way).
int fbg_gemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
             const uint16_t *Abf16, const float *B, long ldb, const uint16_t *Bbf16, float *C, long ldc,
             int threads);

#ifdef __cplusplus
}
#endif

#endif
