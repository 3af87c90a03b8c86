// AVX-512 tile product for the attention kernels (see AttentionTiles.h): 8 × 32 register blocks
// (16 accumulators of 16 floats), then 8 × 16, 8-wide and scalar column edges, one row at a time below 8.
#include "AttentionTiles.h"

#pragma STDC FP_CONTRACT OFF  // the scalar edge multiplies, then adds, as the kit's Swift loop does

#if defined(__x86_64__)
#include <immintrin.h>

int fat_has_avx512(void) {
    static int known = -1;
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx512f") ? 1 : 0; }
    return known;
}

#define TARGET __attribute__((target("avx512f,avx2,fma")))

// rows × 32 columns, rows ≤ 8
TARGET static void block32(long rows, long K, const float *a, long lda, const float *b, long ldb, float *c, long ldc, int acc) {
    __m512 c0[8], c1[8];
    for (long r = 0; r < rows; r++) {
        c0[r] = acc ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
        c1[r] = acc ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
    }
    if (rows == 8) {  // the common case with a constant row count, so all 16 accumulators stay in registers
        for (long k = 0; k < K; k++) {
            __m512 b0 = _mm512_loadu_ps(b + k * ldb), b1 = _mm512_loadu_ps(b + k * ldb + 16);
            for (int r = 0; r < 8; r++) {
                __m512 x = _mm512_set1_ps(a[r * lda + k]);
                c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
                c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
            }
        }
    } else {
        for (long k = 0; k < K; k++) {
            __m512 b0 = _mm512_loadu_ps(b + k * ldb), b1 = _mm512_loadu_ps(b + k * ldb + 16);
            for (long r = 0; r < rows; r++) {
                __m512 x = _mm512_set1_ps(a[r * lda + k]);
                c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
                c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
            }
        }
    }
    for (long r = 0; r < rows; r++) {
        _mm512_storeu_ps(c + r * ldc, c0[r]);
        _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
    }
}

// rows × 16 columns, rows ≤ 8
TARGET static void block16(long rows, long K, const float *a, long lda, const float *b, long ldb, float *c, long ldc, int acc) {
    __m512 c0[8];
    for (long r = 0; r < rows; r++) c0[r] = acc ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
    for (long k = 0; k < K; k++) {
        __m512 b0 = _mm512_loadu_ps(b + k * ldb);
        for (long r = 0; r < rows; r++) c0[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + k]), b0, c0[r]);
    }
    for (long r = 0; r < rows; r++) _mm512_storeu_ps(c + r * ldc, c0[r]);
}

// rows × 8 columns, rows ≤ 8 (fused, as the kit's 8-wide edge)
TARGET static void block8(long rows, long K, const float *a, long lda, const float *b, long ldb, float *c, long ldc, int acc) {
    __m256 c0[8];
    for (long r = 0; r < rows; r++) c0[r] = acc ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    for (long k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * ldb);
        for (long r = 0; r < rows; r++) c0[r] = _mm256_fmadd_ps(_mm256_set1_ps(a[r * lda + k]), b0, c0[r]);
    }
    for (long r = 0; r < rows; r++) _mm256_storeu_ps(c + r * ldc, c0[r]);
}

TARGET void fat_gemm_avx512(long M, long N, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc, int accumulate) {
    long j = 0;
    for (; j + 32 <= N; j += 32)
        for (long i = 0; i < M; i += 8) block32(M - i < 8 ? M - i : 8, K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate);
    for (; j + 16 <= N; j += 16)
        for (long i = 0; i < M; i += 8) block16(M - i < 8 ? M - i : 8, K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate);
    for (; j + 8 <= N; j += 8)
        for (long i = 0; i < M; i += 8) block8(M - i < 8 ? M - i : 8, K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate);
    for (long i = 0; i < M; i++) {
        for (long col = j; col < N; col++) {  // unfused, as the kit's scalar edge
            float s = accumulate ? C[i * ldc + col] : 0;
            for (long k = 0; k < K; k++) {
                float p = A[i * lda + k] * B[k * ldb + col];
                s = s + p;
            }
            C[i * ldc + col] = s;
        }
    }
}

#else
int fat_has_avx512(void) { return 0; }
void fat_gemm_avx512(long M, long N, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc, int accumulate) {
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)B; (void)ldb; (void)C; (void)ldc; (void)accumulate;
}
#endif
