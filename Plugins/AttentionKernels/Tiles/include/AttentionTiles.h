/* AttentionTiles: the attention kernels' tile product C[M×N] (+)= A[M×K]·B[K×N] with AVX-512, for CPUs
 * that have it (the Swift kit is compiled for AVX2 only). Row-major, leading dimensions lda, ldb, ldc.
 *
 * Every element is computed exactly as the kit's AVX2 loop computes it (TileGEMM.swift): it starts from
 * C (accumulate) or 0 and takes one fused multiply-add per k, in order; the last N mod 8 columns take an
 * unfused multiply, then add. The two paths therefore give the same bits; only the vector width differs.
 *
 * Thread rule: reentrant, no state but a CPU-feature flag read once; each caller owns its C. */
#ifndef ATTENTION_TILES_H
#define ATTENTION_TILES_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU runs fat_gemm_avx512 (AVX-512F), else 0. */
int fat_has_avx512(void);

/* C = (accumulate ? C : 0) + A·B on AVX-512F; call only when fat_has_avx512() is 1. */
void fat_gemm_avx512(long M, long N, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
