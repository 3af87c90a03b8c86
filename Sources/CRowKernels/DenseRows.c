// Few-row products with dense fp32 weights in AVX-512 (see DenseRows.h). Four weight rows at a time
// against up to four inputs at a time: sixteen independent 16-lane sums in registers, each weight vector
// loaded once per four inputs (for one input, once); the row tail of a block and the last inputs go
// through the same loop with fewer sums, so no sum's arithmetic depends on what else is computed beside it.
#include "DenseRows.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define WIDE __attribute__((target("avx512f,avx512dq,avx2,fma")))

/// out for rows [0, nr) (nr ≤ 4) and inputs [0, ni) (ni ≤ 4) of the block.
WIDE static inline void block(const float *w, long ldw, int nr, const float *x, long ldx, int ni, long cols, float *out,
                              long out_stride) {
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
    for (long c = 0; c < cols; c += 16) {
        __mmask16 k = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1);
        __m512 xv[4];
        for (int i = 0; i < ni; i++) xv[i] = _mm512_maskz_loadu_ps(k, x + i * ldx + c);
        for (int r = 0; r < nr; r++) {
            __m512 wv = _mm512_maskz_loadu_ps(k, w + r * ldw + c);
            for (int i = 0; i < ni; i++) acc[r][i] = _mm512_fmadd_ps(wv, xv[i], acc[r][i]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int i = 0; i < ni; i++) out[i * out_stride + r] = _mm512_reduce_add_ps(acc[r][i]);
}

/// The block for ni known at compile time (the loops unroll into registers).
#define BLOCK(NI) WIDE static void block##NI(const float *w, long ldw, int nr, const float *x, long ldx, long cols, float *out, \
                                             long out_stride) { block(w, ldw, nr, x, ldx, NI, cols, out, out_stride); }
BLOCK(1)
BLOCK(2)
BLOCK(3)
BLOCK(4)

WIDE void frk_dense_rows(const float *w, long ldw, long rows, const float *x, long ldx, long n, long cols, float *out,
                         long out_stride) {
    for (long r = 0; r < rows; r += 4) {
        int nr = rows - r >= 4 ? 4 : (int)(rows - r);
        for (long i = 0; i < n; i += 4) {
            const float *wr = w + r * ldw, *xi = x + i * ldx;
            float *o = out + i * out_stride + r;
            switch (n - i >= 4 ? 4 : (int)(n - i)) {
            case 1: block1(wr, ldw, nr, xi, ldx, cols, o, out_stride); break;
            case 2: block2(wr, ldw, nr, xi, ldx, cols, o, out_stride); break;
            case 3: block3(wr, ldw, nr, xi, ldx, cols, o, out_stride); break;
            default: block4(wr, ldw, nr, xi, ldx, cols, o, out_stride); break;
            }
        }
    }
}

#else

void frk_dense_rows(const float *w, long ldw, long rows, const float *x, long ldx, long n, long cols, float *out, long out_stride) {
    (void)w, (void)ldw, (void)rows, (void)x, (void)ldx, (void)n, (void)cols, (void)out, (void)out_stride;
}

#endif
